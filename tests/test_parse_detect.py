"""Format detection, parse_any and splat attachment (results/detect.py)."""
from pathlib import Path

import pytest

from common.errors import UsageError
from results.detect import detect_format, parse_any, parse_as, running_markers

LOGS = Path(__file__).parent / "data" / "logs"


def lines(name):
    return (LOGS / name).read_text().splitlines()


@pytest.mark.parametrize("name,fmt", [
    ("test_progs-6.12-failures.log", "test_progs"), ("test_progs-6.12-verbose-oops.log",
                                                     "test_progs"),
    ("test_progs-6.12-truncated.log", "test_progs"), ("test_progs-watchdog.log", "test_progs"),
    ("test_progs-6.12-failures.json", "test_progs_json"),
    ("kselftest-6.12-collections.log", "kselftest"),
    ("kselftest-6.12-interleaved-panic.log", "kselftest"),
    ("kunit-6.12-console.log", "ktap"), ("kunit-6.12-crash.log", "ktap"),
    ("tap14-subtests.tap", "ktap"), ("tap13-yaml-bail.tap", "ktap"),
    ("console-boot-panic.log", "console"), ("dmesg-6.12-splats.txt", "console"),
])
def test_detect(name, fmt):
    assert detect_format(lines(name)) == fmt


def test_empty_input_is_console():
    assert detect_format([]) == "console"
    p = parse_any([])
    assert (p.format, p.tests, p.splats) == ("console", [], [])


def test_splat_attached_to_the_test_program_running():
    p = parse_any(lines("kselftest-6.12-interleaved-panic.log"))
    assert [(s.kind, s.test) for s in p.splats] == [
        ("warning", "filesystems:binderfs_test"), ("bug", "filesystems:binderfs_test"),
        ("panic", "filesystems:binderfs_test")]
    assert p.splats[0].title == "lib/refcount.c refcount_warn_saturate"
    assert p.splats[0].excerpt[1] == "refcount_t: underflow; use-after-free."


def test_splat_attached_to_the_kunit_case_running():
    p = parse_any(lines("kunit-6.12-crash.log"))
    assert [(s.kind, s.test) for s in p.splats] == [("oops", "list-kunit-test/test 2"),
                                                    ("panic", "list-kunit-test/test 2")]


def test_splat_attached_to_the_test_progs_test_running():
    p = parse_any(lines("test_progs-6.12-verbose-oops.log"))
    assert p.format == "test_progs" and not p.complete
    assert [(s.kind, s.test) for s in p.splats] == [("bug", "bpf_iter"), ("panic", "bpf_iter")]


def test_splat_after_the_last_result_of_a_quiet_run_is_not_blamed():
    text = ["#1       a:OK", "[ 5.0] Kernel panic - not syncing: Fatal exception"]
    p = parse_any(text)
    assert p.splats[0].test is None and not p.complete
    assert "1 splat(s) came after the last result: the test running then never reported" \
        in p.notes


def test_splat_between_results_blames_the_next_result():
    text = ["KTAP version 1", "1..2", "ok 1 a",
            "[ 5.0] WARNING: CPU: 0 PID: 1 at fs/a.c:1 f+0x1/0x2", "[ 5.1] ---[ end trace ]---",
            "not ok 2 b"]
    p = parse_any(text)
    assert p.splats[0].test == "b" and p.complete


def test_markers():
    p = parse_any(lines("test_progs-6.12-truncated.log"))
    assert running_markers(p) == [(1, "align"), (4, "atomic_bounds"), (5, "bpf_iter")]


def test_unparsable_log_keeps_its_splats():
    p = parse_any(['{"results": [', "BUG: KASAN: wild-memory-access in x+0x1/0x2"])
    assert p.format == "console" and not p.complete
    assert [s.kind for s in p.splats] == ["kasan"]
    assert p.notes[0].startswith("looked like test_progs_json but: not JSON")


def test_parse_as_names_the_format_and_refuses_unknown_ones():
    p = parse_as("ktap", lines("kunit-6.12-console.log"))
    assert p.format == "ktap" and p.splats == []
    with pytest.raises(UsageError):
        parse_as("junit", [])
