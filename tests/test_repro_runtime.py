"""Runtime robot reports as jobs: the testcase as a suite (boot, a kselftest group,
test_progs with the named tests), the report's kernel command line, CPUs and
memory (capped to the host) reaching the VM request, and the verdict with the
report's and the local splat fingerprints side by side. Through `harness.py
repro` with the pipeline's stages replaced by fakes (the check phase is real)."""
import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness
import repro.run
import repro.runtime
from common.errors import InputError
from common.proc import Runner
from pipeline.context import StageReport
from repro.report import load_report, parse_report
from repro.runtime import check_collection, runtime_job, split_cmdline
from results.model import ParsedLog, Status, TestResult

DATA = Path(__file__).parent / "data" / "reports"
BPF = DATA / "runtime-bpf-test-progs.txt"
NET = DATA / "runtime-kselftests-net.txt"
SERIES = ["--series", "kharness-fixture@v6", "--profile", "small"]
G = 1 << 30


@pytest.fixture(autouse=True)
def small_host(monkeypatch):
    """A 2-CPU host with 16G: the report's 4 CPUs are capped, its 8G fits (half)."""
    monkeypatch.setattr(repro.runtime, "host_limits", lambda: (2, 16 * G))


def report_with(path: Path, *pairs: str):
    text = path.read_text()
    for old, new in zip(pairs[::2], pairs[1::2]):
        assert old in text
        text = text.replace(old, new)
    return parse_report(text.encode(), str(path))


def test_the_new_fixtures_give_machine_cmdline_and_failing_tests():
    r = load_report(BPF)
    assert (r.testcase, r.params["group"], r.machine_cpus, r.machine_memory) == \
        ("kernel-selftests-bpf", "bpf", 4, "8G")
    assert r.cmdline == "lsm=lockdown,capability,landlock,bpf nokaslr"
    assert r.failing_tests == ["path_iter/walk_to_root", "path_iter"]
    assert [s.title for s in r.splats] == ["kernel/bpf/helpers.c bpf_iter_path_next"]
    n = load_report(NET)
    assert (n.testcase, n.params, n.machine_cpus, n.machine_memory) == \
        ("kernel-selftests", {"group": "net"}, 36, "128G")
    assert n.cmdline.startswith("ip=::::lkp-csl-d01::dhcp root=/dev/ram0 RESULT_ROOT=")
    assert n.failing_tests == ["net:fcnal-test.sh"] and n.unparsed == []


def test_boot_runs_tap_smoke_on_the_reports_machine():
    job = runtime_job(load_report(DATA / "runtime-fixture-boot-warn.txt"))
    assert (job.name, job.runner, job.doc["command"]) == \
        ("repro-boot", "command", ["sh", "tap-smoke.sh"])
    assert job.doc["vm"] == {"cpus": 1, "memory": "512M"}       # -smp 1 -m 512M: no cap
    assert not any("capped" in n for n in job.notes)


def test_a_kselftest_group_runs_its_failing_tests_capped_to_the_host():
    job = runtime_job(load_report(NET))
    assert (job.name, job.runner, job.doc["allow"], job.doc["copy"]) == \
        ("repro-kselftest-net", "kselftest", ["net:fcnal-test.sh"], True)
    assert job.doc["vm"] == {"cpus": 2, "memory": "8G"}
    assert "the report's test machine has 36 CPUs; the VM gets 2 (capped: this host has 2)" \
        in job.notes
    assert "the report's test machine has 128G memory; the VM gets 8G (capped: half of this " \
        "host's 16G)" in job.notes
    assert job.doc["cmdline"][:3] == ["nokaslr", "selinux=0", "debug"]
    for own in ("root=/dev/ram0", "rw", "console=ttyS0,115200", "panic=-1", "user=lkp"):
        assert own not in job.doc["cmdline"]
    assert any(w.startswith("RESULT_ROOT") for w in split_cmdline(load_report(NET).cmdline)[1])


def test_a_group_with_a_suite_of_its_own_keeps_its_needs():
    """landlock's suite asks for lsm=...landlock...: the report's command line is added."""
    job = runtime_job(report_with(NET, "group: net", "group: landlock"))
    assert job.doc["allow"] == ["landlock"] and job.doc["copy"] is True
    assert job.doc["cmdline"][0] == "lsm=lockdown,capability,landlock,bpf"
    assert "run_kselftest.sh runs the whole collection" in job.notes[0]


def test_test_progs_runs_only_the_named_tests():
    job = runtime_job(load_report(BPF))
    assert (job.runner, job.doc["allow"]) == ("test_progs", ["path_iter"])
    assert job.doc["cmdline"] == ["lsm=lockdown,capability,landlock,bpf", "nokaslr"]
    assert job.doc["vm"] == {"cpus": 2, "memory": "8G"}
    bpf = runtime_job(report_with(BPF, "in testcase: kernel-selftests-bpf", "in testcase: bpf"))
    assert bpf.doc["allow"] == ["path_iter"]


def test_test_progs_with_no_named_test():
    rep = load_report(DATA / "runtime-kasan.txt")
    job = runtime_job(rep, series_suite="path-iterator")
    assert job.doc["allow"] == ["*path_iter*"] and "the series' suite path-iterator" in \
        job.notes[0]
    with pytest.raises(InputError, match="names no test_progs test"):
        runtime_job(rep)


def test_the_group_can_come_from_the_headline():
    job = runtime_job(report_with(NET, "\tgroup: net\n", ""))
    assert job.doc["allow"] == ["net:fcnal-test.sh"]


@pytest.mark.parametrize("pairs,msg", [
    (("in testcase: kernel-selftests\n", "in testcase: will-it-scale\n"),
     "unknown testcase 'will-it-scale'"),
    (("\tgroup: net\n", "", "kernel-selftests.net.fcnal-test.sh.fail", "some failure"),
     "names no kselftest group"),
    (("\tgroup: net\n", "\tgroup: ../../etc\n"), "'../../etc' is not a kselftest collection"),
])
def test_unknown_testcases_and_groups(pairs, msg):
    with pytest.raises(InputError, match=msg):
        runtime_job(report_with(NET, *pairs))


def test_an_unknown_testcase_exits_2_before_any_stage(tmp_path, monkeypatch, capsys):
    bad = tmp_path / "r.txt"
    bad.write_text(NET.read_text().replace("in testcase: kernel-selftests\n",
                                           "in testcase: will-it-scale\n"))
    monkeypatch.setattr(repro.run, "stages_for", lambda plan: pytest.fail("a stage ran"))
    assert harness.main(["repro", str(bad), *SERIES, "--results", str(tmp_path)]) == 2
    assert "unknown testcase 'will-it-scale'" in capsys.readouterr().err


def git(cwd, *argv):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *argv], cwd=cwd,
                   check=True, capture_output=True)


@pytest.fixture
def tree_cache(tmp_path, monkeypatch):
    """An imported debian-6.12 tree whose base has tools/testing/selftests/net only."""
    src = tmp_path / "src"
    (src / "tools/testing/selftests/net").mkdir(parents=True)
    (src / "tools/testing/selftests/net/fcnal-test.sh").write_text("exit 0\n")
    git(src, "init", "-q")
    git(src, "add", ".")
    git(src, "commit", "-qm", "base")
    git(src, "tag", "base")
    cache = tmp_path / "cache"
    repo = cache / "trees" / "debian-6.12"
    git(tmp_path, "clone", "-q", "--bare", str(src), str(repo))
    (repo / "kharness-tree.json").write_text(json.dumps(
        {"name": "debian-6.12", "commit": "x", "tags": ["base"], "kind": "deb", "source": "t",
         "key": "k"}))
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    return repo


def test_the_group_is_checked_against_the_trees_selftests(tree_cache):
    doc = runtime_job(load_report(NET)).doc
    check_collection(doc, tree_cache, "base", Runner(), "r.txt")
    doc["allow"] = ["netfilter"]
    with pytest.raises(InputError, match="unknown kselftest group 'netfilter': the tree "
                                         r"\(debian-6.12\) has no tools/testing/selftests/"
                                         "netfilter at base"):
        check_collection(doc, tree_cache, "base", Runner(), "r.txt")


def test_an_unknown_group_exits_2_before_any_stage(tree_cache, tmp_path, monkeypatch, capsys):
    bad = tmp_path / "r.txt"
    bad.write_text(NET.read_text().replace("group: net", "group: netfilter"))
    monkeypatch.setattr(repro.run, "stages_for", lambda plan: pytest.fail("a stage ran"))
    assert harness.main(["repro", str(bad), *SERIES, "--results", str(tmp_path / "r")]) == 2
    assert "unknown kselftest group 'netfilter'" in capsys.readouterr().err


# --- through `harness.py repro` with fake stages ------------------------------------

def fake_stages(console: list[str], tests: list[TestResult], seen: dict):
    """apply/build do nothing; boot builds the real VM request; test writes the
    console and the suite's results."""
    def ok(ctx):
        return StageReport("fake")

    def boot(ctx):
        from pipeline.stages import vm_request
        ctx.build = SimpleNamespace(bzimage=ctx.store.path / "bzImage", cached=True)
        seen["vm"] = vm_request(ctx)
        seen["suites"] = [s.name for s in ctx.suites]
        return StageReport("fake boot")

    def test(ctx):
        (ctx.store.path / "console.log").write_text("\n".join(console) + "\n")
        ctx.store.add_suite(ctx.suites[0].name, ParsedLog("test_progs", tests))
        return StageReport("fake test")
    return lambda plan: [("apply", ok), ("build", ok), ("boot", boot), ("test", test)]


def splat_lines(path: Path) -> list[str]:
    return [ln for ln in path.read_text().splitlines() if ln.startswith("[  318.")]


def failing(status="fail"):
    return [TestResult("path_iter", Status(status), 1, subtests=[
        TestResult("walk_to_root", Status(status), 1), TestResult("walk_in_mount", Status.PASS, 2)])]


def repro_bpf(tmp_path, monkeypatch, capsys, console, tests):
    seen = {}
    monkeypatch.setattr(repro.run, "stages_for", fake_stages(console, tests, seen))
    code = harness.main(["repro", str(BPF), *SERIES, "--results", str(tmp_path)])
    out = capsys.readouterr().out
    verdict = json.loads(next(tmp_path.rglob("repro/verdict.json")).read_text())
    return code, out, verdict, seen


def test_bpf_report_reproduces_with_the_reports_machine(tmp_path, monkeypatch, capsys):
    code, out, v, seen = repro_bpf(tmp_path, monkeypatch, capsys, splat_lines(BPF), failing())
    assert code == 0, out
    req = seen["vm"]
    assert req.append == ["lsm=lockdown,capability,landlock,bpf", "nokaslr"]
    assert (req.cpus, req.memory) == (2, "8G")
    assert seen["suites"] == ["repro-test_progs"]
    fp = load_report(BPF).splats[0].fingerprint[:12]
    assert "verdict: reproduced\n" in out
    assert ("  matched splat: warning: kernel/bpf/helpers.c bpf_iter_path_next\n"
            f"    report [{fp}]  local [{fp}]  (same fingerprint)") in out
    assert "  failing test: path_iter/walk_to_root: fail" in out
    assert "note: substitution: the report's test machine has 4 CPUs; the VM gets 2 " \
           "(capped: this host has 2)" in out
    assert v["verdict"] == "reproduced" and v["splats"][0]["how"] == "same fingerprint"
    assert v["tests"] == [{"reported": "path_iter/walk_to_root", "here": "fail"},
                          {"reported": "path_iter", "here": "fail"}]
    assert list((tmp_path / "repro-suites").glob("repro-test_progs-*.yaml"))


def test_other_frames_or_passing_tests_are_partial(tmp_path, monkeypatch, capsys):
    other = [ln.replace("security_file_open", "security_inode_permission")
             for ln in splat_lines(BPF)]
    code, out, v, _ = repro_bpf(tmp_path, monkeypatch, capsys, other, failing("pass"))
    assert code == 1 and v["verdict"] == "partially reproduced"
    assert v["splats"][0]["how"] == "same headline, other frames"
    local = v["splats"][0]["seen"]["fingerprint"][:12]
    assert local != v["splats"][0]["reported"]["fingerprint"][:12]
    assert f"  partly matched splat: warning: kernel/bpf/helpers.c bpf_iter_path_next\n" \
           f"    report [{v['splats'][0]['reported']['fingerprint'][:12]}]  local [{local}]" \
           in out
    assert "  failing test: path_iter/walk_to_root: pass" in out


def test_nothing_seen_is_not_reproduced(tmp_path, monkeypatch, capsys):
    code, out, v, _ = repro_bpf(tmp_path, monkeypatch, capsys, ["[    1.0] booted"], [])
    assert code == 1 and v["verdict"] == "not reproduced"
    assert "    report [" in out and "]  local -" in out
    assert "  failing test: path_iter: not run here" in out


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.iterdir()
                                        if p.suffix in (".txt", ".eml", ".mbox")))
def test_parse_only_json_reads_every_fixture_whole(name, capsys):
    assert harness.main(["repro", "--parse-only", "--json", str(DATA / name)]) == 0
    assert json.loads(capsys.readouterr().out)["unparsed"] == []


def test_an_installed_suite_is_the_same_suite_as_a_generated_file(tmp_path):
    """The generated suite starts from an installed one (tap-smoke, a kselftest
    group's own suite, the series' suite): written out, it loads as the same suite."""
    from repro.runtime import _base, write_suite
    from selftests.suite import list_suites, load_suite

    def key(s):
        return (s.runner, s.base, s.path, s.command, s.allow, s.cmdline, s.cpus, s.memory,
                s.copy, s.test_timeout, s.suite_timeout, s.retries,
                [(d.name, d.reason, d.expires, d.when) for d in s.deny])
    for p in list_suites():
        doc = _base(str(p))
        doc["name"] = f"repro-{p.stem}"
        assert key(load_suite(write_suite(doc, tmp_path))) == key(load_suite(p)), p.name
