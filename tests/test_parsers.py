"""Parsers on recorded logs (tests/data/logs), including crashed and truncated ones."""
from pathlib import Path

import pytest

from common.errors import ParseError, UsageError
from results.detect import detect_format, parse_any, parse_as
from results.kselftest import parse_kselftest
from results.ktap import emit_ktap, parse_ktap
from results.model import Status
from results.splat import attach_splats, find_splats
from results.test_progs import parse_test_progs, parse_test_progs_json

LOGS = Path(__file__).parent / "data" / "logs"


def lines(name):
    return (LOGS / name).read_text().splitlines()


def statuses(parsed):
    return {p: t.status.value for p, t in parsed.flat()}


def test_test_progs_full():
    p = parse_test_progs(lines("test_progs-full.log"))
    s = statuses(p)
    assert s["global_data"] == "fail" and s["global_data/number"] == "fail"
    assert s["global_data/string"] == "pass" and s["obj_name/map"] == "skip"
    assert s["xdp_adjust_tail"] == "skip" and s["align/mov"] == "pass"
    assert p.complete and "Summary: 4/6 PASSED, 2 SKIPPED, 1 FAILED" in p.notes
    num = next(t for _, t in p.flat() if t.name == "number")
    assert num.log == ["test_global_data_number:PASS:load program 0 nsec",
                       "check_data_map:FAIL:global data 4 unexpected global data 4: actual 0 "
                       "!= expected 4"]
    assert next(t for _, t in p.flat() if t.name == "obj_name").reason == "SKIP: 1/2"


def test_test_progs_crashed_run_shows_missing_test_and_oops():
    p = parse_any(lines("test_progs-crashed.log"))
    assert p.format == "test_progs" and not p.complete
    s = statuses(p)
    assert s["bpf_iter"] == "missing" and s["bpf_iter/task"] == "fail"
    assert s["align"] == "pass" and s["atomic_bounds"] == "pass"
    kinds = [sp.kind for sp in p.splats]
    assert kinds == ["bug", "panic"]
    assert p.splats[0].frames[0] == "bpf_iter_task_next"


def test_test_progs_truncated_mid_line():
    p = parse_test_progs(lines("test_progs-truncated.log"))
    s = statuses(p)
    assert s["bpf_iter"] == "missing" and s["bpf_iter/btf_id_or_null"] == "pass"
    assert "bpf_iter/ipv6_route" not in s
    assert not p.complete


def test_test_progs_json_lists_failures_only():
    p = parse_test_progs_json((LOGS / "test_progs.json").read_text())
    assert statuses(p) == {"global_data": "fail", "global_data/number": "fail"}
    assert "JSON lists only failures" in p.notes[0]
    with pytest.raises(ParseError):
        parse_test_progs_json("{not json")
    with pytest.raises(ParseError):
        parse_test_progs_json('{"x": 1}')


def test_kselftest_runner():
    p = parse_kselftest(lines("kselftest-runner.log"))
    s = statuses(p)
    assert s["size:get_size"] == "pass" and s["size:get_size/get runtime memory use"] == "pass"
    assert s["bpf:test_tag"] == "fail" and s["bpf:test_lirc_mode2.sh"] == "skip"
    assert s["bpf:test_verifier"] == "timeout"
    tag = next(t for _, t in p.flat() if t.name == "bpf:test_tag")
    assert tag.reason == "exit=1" and "test_tag: failed to load program" in tag.log
    assert p.complete


def test_kselftest_interleaved_dmesg():
    p = parse_any(lines("kselftest-interleaved.log"))
    assert p.format == "kselftest"
    s = statuses(p)
    assert s["filesystems:devpts_pts"] == "pass"
    assert s["filesystems:binderfs_test"] == "missing" and not p.complete
    assert [sp.kind for sp in p.splats] == ["warning"]
    assert p.splats[0].title == "fs/namespace.c mntput_no_expire"


def test_kunit_nested_ktap():
    p = parse_ktap(lines("kunit-nested.ktap"))
    s = statuses(p)
    assert s["example"] == "fail" and s["example/example_skip_test"] == "skip"
    assert s["example/example_fail_test"] == "fail"
    assert s["example/example_params_test/example value 3"] == "skip"
    assert s["list-kunit-test/list_test_list_add"] == "pass"
    assert p.complete
    fail = next(t for _, t in p.flat() if t.name == "example_fail_test")
    assert any("EXPECTATION FAILED" in x for x in fail.log)


def test_tap13_yaml_todo_and_bail_out():
    p = parse_ktap(lines("tap13-yaml-bail.tap"))
    s = statuses(p)
    assert s == {"first": "pass", "second": "fail", "third": "todo", "fourth": "todo",
                 "test 5": "missing"}
    assert not p.complete and any("Bail out! database went away" in n for n in p.notes)
    second = next(t for _, t in p.flat() if t.name == "second")
    assert second.log[0] == "---" and 'message: "expected 3, got 2"' in second.log


@pytest.mark.parametrize("text,status,reason", [
    ("ok 1 a # SKIP no hw", "skip", "no hw"), ("ok 1 a # skip", "skip", ""),
    ("not ok 1 a # TIMEOUT 45 seconds", "timeout", "45 seconds"),
    ("not ok 1 a # ERROR boom", "error", "boom"), ("ok 1 a # XFAIL known", "xfail", "known"),
    ("not ok 1 a # XFAIL known", "fail", "known"), ("ok 1 - a # a comment", "pass", "a comment"),
])
def test_directives(text, status, reason):
    t = parse_ktap(["KTAP version 1", "1..1", text]).tests[0]
    assert (t.name, t.status.value, t.reason) == ("a", status, reason)


def test_short_plan_marks_missing():
    p = parse_ktap(["TAP version 14", "1..3", "ok 1 a"])
    assert statuses(p) == {"a": "pass", "test 2": "missing", "test 3": "missing"}
    assert not p.complete


def test_unknown_lines_are_kept_with_numbers():
    p = parse_ktap(["KTAP version 1", "1..1", "garbage here", "ok 1 a"])
    assert p.unknown == [(3, "garbage here")]


def test_no_tap_at_all_is_a_parse_error():
    with pytest.raises(ParseError) as e:
        parse_ktap(["hello", "world"], name="x.log")
    assert e.value.path == "x.log" and e.value.line == 1


def test_emit_roundtrip_keeps_every_status():
    p = parse_any(lines("test_progs-crashed.log"))
    p2 = parse_ktap(emit_ktap(p.tests).splitlines())
    assert statuses(p2) == statuses(p)


def test_splats_every_kind_and_stable_fingerprints():
    found = find_splats(lines("dmesg-splats.txt"))
    assert [s.kind for s in found] == ["lockdep", "rcu_stall", "hung_task", "soft_lockup",
                                       "kmemleak", "ubsan", "hard_lockup"]
    assert found[0].frames == ["down_read", "bpf_iter_path_next"]
    again = find_splats([x.replace("test_progs:601", "test_progs:999")
                         .replace("0xffff888102cd3a00", "0xffff888100000000")
                         .replace("[  1", "[  9") for x in lines("dmesg-splats.txt")])
    assert [s.fingerprint for s in again] == [s.fingerprint for s in found]
    assert len({s.fingerprint for s in found}) == len(found)


def test_boot_panic_console():
    p = parse_any(lines("console-boot-panic.log"))
    assert p.format == "console" and p.tests == []
    (sp,) = p.splats
    assert sp.kind == "panic" and sp.title.startswith("No working init found")
    assert sp.frames == ["kernel_init", "ret_from_fork"]


def test_splat_prefixes_and_attach():
    raw = ["# [   5.1] Kernel panic - not syncing: sysrq triggered crash",
           "<0>[   5.2] Call Trace:", "# [   5.3]  sysrq_handle_crash+0x15/0x20"]
    (sp,) = find_splats(raw)
    assert sp.frames == ["sysrq_handle_crash"]
    attach_splats([sp], [(0, "first"), (1, "second"), (9, "later")])
    assert sp.test == "second"


def test_different_warnings_differ():
    a = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 foo+0x1/0x2"])
    b = find_splats(["WARNING: CPU: 3 PID: 7 at fs/a.c:99 foo+0x5/0x9"])
    c = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 bar+0x1/0x2"])
    assert a[0].fingerprint == b[0].fingerprint != c[0].fingerprint


@pytest.mark.parametrize("name,fmt", [
    ("test_progs-full.log", "test_progs"), ("test_progs.json", "test_progs_json"),
    ("kselftest-runner.log", "kselftest"), ("kunit-nested.ktap", "ktap"),
    ("tap13-yaml-bail.tap", "ktap"), ("console-boot-panic.log", "console"),
])
def test_detect(name, fmt):
    assert detect_format(lines(name)) == fmt


def test_parse_as_unknown_format():
    with pytest.raises(UsageError):
        parse_as("junit", [])


def test_recorded_vm_logs():
    """Real logs recorded from the harness's own TCG runs of the fixture series."""
    raw = parse_any(lines("vm-kharness-fixture-raw.log"))
    assert raw.format == "ktap" and statuses(raw) == {
        "proc_version": "pass", "tmp_writable": "pass", "release_ok": "pass"}
    console = parse_any(lines("vm-small-boot-console.log"))
    assert console.format == "console" and console.splats == []
    assert any("6.12.117-kharness" in x for x in lines("vm-small-boot-console.log"))
