"""Suite files: schema checks with file and line, deny expiry, selection, groups."""
import datetime as dt
from pathlib import Path

import pytest

from common.errors import InputError, UsageError
from results.model import Status, TestResult
from selftests import runners
from selftests.runners import kselftest_argv, plan, retry_group, runner_dir
from selftests.conditions import JobFacts
from selftests.selection import apply_deny, matches, select
from selftests.suite import SUITES_DIR, list_suites, load_suite


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = """\
name: s
runner: test_progs
allow: [a, b, c]
deny:
  - name: b
    reason: broken on 6.12
    link: https://example.invalid/bug/1
    expires: 2030-01-31
  - name: "c/sub*"
    reason: old
    expires: 2020-01-01
timeout: {test: 30, suite: 600, watchdog: 20}
parallel: 2
retries: 2
vm: {cpus: 4, memory: 4G}
"""


def test_good_suite_loads(tmp_path):
    s = load_suite(write(tmp_path, GOOD))
    assert (s.name, s.runner, s.allow, s.parallel, s.retries) == ("s", "test_progs",
                                                                   ["a", "b", "c"], 2, 2)
    assert (s.test_timeout, s.suite_timeout, s.watchdog, s.cpus, s.memory) == (30, 600, 20, 4, "4G")
    assert s.deny[0].expires == dt.date(2030, 1, 31) and s.deny[0].line == 5
    assert s.output_format == "test_progs"


@pytest.mark.parametrize("text,line,msg", [
    ("runner: test_progs\nbogus: 1\n", 2, "unknown key 'bogus'"),
    ("name: x\n", 1, "missing required key 'runner'"),
    ("runner: pytest\n", 1, "unknown runner 'pytest'"),
    ("runner: command\n", 1, "needs a 'command'"),
    ("runner: test_progs\ncommand: [ls]\n", 2, "only for runner 'command'"),
    ("runner: test_progs\nallow: x\n", 2, "list of non-empty strings"),
    ("runner: test_progs\ndeny:\n  - name: x\n", 3, "missing required key 'reason'"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    expires: soon\n", 5,
     "must be a date"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    owner: me\n", 5,
     "unknown key 'owner'"),
    ("runner: test_progs\ntimeout:\n  test: 0\n", 3, "'test' must be a number >= 1"),
    ("runner: test_progs\ntimeout:\n  test: 100\n  suite: 10\n", 4, "must not be shorter"),
    ("runner: test_progs\nretries: -1\n", 2, "'retries' must be an integer >= 0"),
    ("runner: test_progs\nparallel: true\n", 2, "'parallel' must be an integer"),
    ("runner: test_progs\nvm:\n  memory: lots\n", 3, "vm.memory"),
    ("runner: kselftest\nparallel: 2\n", 2, "test_progs option"),
    ("runner: command\ncommand: [echo]\ntimeout:\n  watchdog: 5\n", 4, "test_progs option"),
    ("runner: test_progs\nrunner: kselftest\n", 2, "duplicate key"),
    ("runner: test_progs\nbase: home\n", 2, "unknown base 'home'"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    accel: qemu\n", 5,
     "unknown accel 'qemu' in deny entry (one of: kvm, tcg)"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    arch: [x86_64, sparc]\n", 5,
     "unknown arch 'sparc'"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    toolchain: icc\n", 5,
     "unknown toolchain 'icc'"),
    ("runner: test_progs\ndeny:\n  - name: x\n    reason: r\n    accel: []\n", 5,
     "'accel' must be a value or a list of values"),
    ("runner: [test_progs\n", 2, "YAML syntax error"),
])
def test_bad_suites_name_file_and_line(tmp_path, text, line, msg):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as err:
        load_suite(p)
    assert err.value.path == str(p) and err.value.line == line
    assert msg in str(err.value) and str(err.value).startswith(f"{p}:{line}: ")


def test_unknown_suite_name_lists_known():
    with pytest.raises(InputError, match="known: .*smoke"):
        load_suite("no-such-suite")


def test_shipped_suites_all_load():
    names = {p.stem for p in list_suites()}
    assert {"smoke", "path-iterator", "fanotify-bpf", "iter-pagecache", "full",
            "tap-smoke"} <= names
    for p in list_suites():
        s = load_suite(p)
        assert s.name == p.stem and s.description
    assert load_suite("path-iterator").allow == ["*path_iter*"]
    tap = load_suite("tap-smoke")
    assert tap.runner == "command" and runner_dir(tap, None) == SUITES_DIR.parent / "guest"
    assert (runner_dir(tap, None) / tap.command[1]).is_file()
    fixture = load_suite("kharness-fixture")
    assert fixture.base == "tree"
    assert runner_dir(fixture, None, Path("/wt")) == Path("/wt/tools/testing/selftests/kharness")
    with pytest.raises(UsageError, match="kernel source tree"):
        runner_dir(fixture, Path("/st"), None)


def test_test_progs_runs_in_a_flat_artifacts_dir_or_its_bpf_subdir(tmp_path):
    smoke = load_suite("smoke")
    assert runner_dir(smoke, tmp_path) == tmp_path / "bpf"
    (tmp_path / "test_progs").write_text("")
    assert runner_dir(smoke, tmp_path) == tmp_path
    smoke.path = "sub"
    assert runner_dir(smoke, tmp_path) == tmp_path / "sub"


def test_expired_deny_entries_warn_and_stop_applying(tmp_path):
    s = load_suite(write(tmp_path, GOOD))
    sel = select(s, today=dt.date(2026, 6, 1))
    assert [d.name for d in sel.deny] == ["b"] and [d.name for d in sel.expired] == ["c/sub*"]
    assert len(sel.warnings) == 1 and f"{s.source}:9:" in sel.warnings[0]
    assert "expired on 2020-01-01" in sel.warnings[0]
    later = select(s, today=dt.date(2030, 2, 1))
    assert later.deny == [] and len(later.warnings) == 2
    assert select(s, today=dt.date(2030, 1, 31)).deny[0].name == "b"   # last valid day


def test_only_narrows_the_allow_list(tmp_path):
    s = load_suite(write(tmp_path, GOOD))
    assert select(s, dt.date(2026, 1, 1), only=["b"]).allow == ["b"]
    s.allow = []
    assert select(s, dt.date(2026, 1, 1), only=["x*"]).allow == ["x*"]


def test_matching_follows_test_progs_names():
    assert matches("bpf_iter", "bpf_iter/task_vma")
    assert matches("bpf_iter/task_*", "bpf_iter/task_vma")
    assert not matches("bpf_iter/task_*", "bpf_iter/tcp4")
    assert matches("*path_iter*", "path_iter")
    assert not matches("bpf", "bpf_iter")
    assert matches("landlock", "landlock:fs_test")                 # kselftest collection
    assert matches("landlock", "landlock:fs_test/layout1.rule_on_mountpoint")
    assert not matches("land", "landlock:fs_test")
    assert not matches("landlock:base_test", "landlock:fs_test")


def test_deny_listed_failures_become_skips_with_reason(tmp_path):
    s = load_suite(write(tmp_path, GOOD))
    sel = select(s, dt.date(2026, 1, 1))
    tests = [TestResult("b", Status.FAIL), TestResult("a", Status.FAIL),
             TestResult("c", Status.PASS, subtests=[TestResult("sub1", Status.FAIL)])]
    apply_deny(tests, sel.deny)
    assert tests[0].status == Status.SKIP and "broken on 6.12" in tests[0].reason
    assert "example.invalid" in tests[0].reason and "(fail)" in tests[0].reason
    assert tests[1].status == Status.FAIL
    assert tests[2].subtests[0].status == Status.FAIL   # its deny entry expired


def test_test_progs_groups_and_argv(tmp_path):
    s = load_suite(write(tmp_path, GOOD))
    s.batch = 2
    s.allow.append("d")
    sel = select(s, dt.date(2026, 1, 1))
    p = plan(s, sel, Path("/sel/bpf"))
    groups = p.groups
    assert [g.tests for g in groups] == [["a", "c"], ["d"]]      # b is deny-listed
    assert [(n, e.reason) for n, e in p.denied] == [("b", "broken on 6.12")]
    assert groups[0].argv == ["./test_progs", "-a", "a,c", "-d", "b", "-w", "20", "--workers=2"]
    assert groups[0].timeout == 60 and groups[1].timeout == 30
    line = groups[1].line()
    assert "ulimit -l unlimited" in line and "cd /sel/bpf && exec ./test_progs -a d" in line
    r = retry_group(s, sel, "c/sub1", groups[1], 1)
    assert r.argv[:3] == ["./test_progs", "-a", "c"] and r.retry_of == "c"


def test_full_suite_uses_the_listing_minus_denied(tmp_path):
    s = load_suite("full")
    sel = select(s, dt.date(2026, 1, 1), job=JobFacts(accel="tcg"))
    listed = ["a", "verif_scale_pyperf50", "b", "kprobe_multi_bench_attach", "c"]
    groups = plan(s, sel, Path("/b"), listed).groups
    assert [g.tests for g in groups] == [["a", "b", "c"]]
    assert "verif_scale*,kprobe_multi_bench_attach" in groups[0].argv
    assert plan(s, sel, Path("/b"), None).groups[0].label == "all"
    kvm = select(s, dt.date(2026, 1, 1), job=JobFacts(accel="kvm"))
    assert kvm.deny == [] and len(kvm.inactive) == 2      # the entries are for TCG only
    assert [g.tests for g in plan(s, kvm, Path("/b"), listed).groups] == [listed]


def test_kselftest_argv_and_missing_selftests_dir(tmp_path):
    s = load_suite(write(tmp_path, "runner: kselftest\nallow: [bpf:test_verifier, filesystems]\n"
                                   "timeout: {test: 45}\n"))
    assert kselftest_argv(s, s.allow) == ["./run_kselftest.sh", "-o", "45",
                                          "-t", "bpf:test_verifier", "-c", "filesystems"]
    assert runner_dir(s, Path("/st")) == Path("/st/kselftest_install")
    assert runners.test_progs_argv(load_suite("smoke"), select(load_suite("smoke")), [])[0] == \
        "./test_progs"
    with pytest.raises(UsageError, match="selftests build dir"):
        runner_dir(s, None)


def test_kselftest_suite_targets_and_copy(tmp_path):
    s = load_suite(write(tmp_path, "runner: kselftest\ncopy: true\n"
                                   "allow: [landlock:fs_test, landlock, filesystems]\n"))
    assert s.copy is True
    assert s.kselftest_targets == ["filesystems", "landlock"]
    assert load_suite("smoke").kselftest_targets == []
    with pytest.raises(InputError) as e:
        load_suite(write(tmp_path, "runner: kselftest\n"))
    assert "allow" in str(e.value) and e.value.line == 1
    with pytest.raises(InputError) as e:
        load_suite(write(tmp_path, "runner: kselftest\nallow: [x]\ncopy: yes please\n"))
    assert e.value.line == 3


def test_shipped_landlock_suite_loads():
    s = load_suite("landlock")
    assert s.runner == "kselftest" and s.copy and s.kselftest_targets == ["landlock"]


def test_suites_cli_names_file_and_line_of_a_bad_condition(tmp_path, capsys):
    import harness
    p = write(tmp_path, "runner: test_progs\ndeny:\n  - name: x\n    reason: r\n"
                        "    accel: qemu\n")
    assert harness.main(["suites", str(p)]) == 2
    assert f"{p}:5: unknown accel 'qemu'" in capsys.readouterr().err
    assert harness.main(["suites", "full", "--accel", "kvm"]) == 0
    out = capsys.readouterr().out
    assert "not denied (accel is kvm, the entry is for tcg): verif_scale* [accel tcg]" in out
