"""kselftest runner output (results/kselftest.py) on recorded-format logs."""
from pathlib import Path

import pytest

from common.errors import ParseError
from results.kselftest import parse_kselftest

from logdata import LOGS, find, lines, statuses  # noqa: F401


def test_two_collections_each_numbered_from_one():
    p = parse_kselftest(lines("kselftest-6.12-collections.log"))
    top = [(t.number, t.name, t.status.value, t.reason) for t in p.tests]
    assert top == [(1, "size:get_size", "pass", ""), (1, "timers:nanosleep", "pass", ""),
                   (2, "timers:posix_timers", "fail", "exit=1"),
                   (3, "timers:set-timer-lat", "timeout", "45 seconds"),
                   (4, "timers:mqueue-lat", "skip", ""), (5, "timers:rtcpie", "fail", "")]
    assert p.complete


def test_program_output_is_its_log_and_its_tap_its_subtests():
    p = parse_kselftest(lines("kselftest-6.12-collections.log"))
    size = find(p, "size:get_size")
    assert [s.name for s in size.subtests] == ["get runtime memory use"]
    assert size.subtests[0].log[:3] == ["Testing system size.", "---", "Total:  2014752 K"]
    assert "# Testing system size." in size.log
    nano = find(p, "timers:nanosleep")
    assert [s.name for s in nano.subtests][:4] == ["CLOCK_REALTIME", "CLOCK_MONOTONIC",
                                                   "CLOCK_PROCESS_CPUTIME_ID",
                                                   "CLOCK_THREAD_CPUTIME_ID"]
    assert sum(s.status.value == "skip" for s in nano.subtests) == 5
    assert find(p, "timers:rtcpie").log == ["Warning: file rtcpie is missing!"]
    assert find(p, "timers:mqueue-lat").log == ["mqueue-lat: unsupported on this kernel"]


def test_program_that_stopped_early_has_missing_subtests():
    p = parse_kselftest(lines("kselftest-6.12-collections.log"))
    posix = find(p, "timers:posix_timers")
    assert [s.status.value for s in posix.subtests] == ["pass", "pass", "fail"] + \
        ["missing"] * 6
    assert "timers:posix_timers: its own TAP output is incomplete" in p.notes


def test_interleaved_console_lines_and_a_panic_inside_a_program():
    p = parse_kselftest(lines("kselftest-6.12-interleaved-panic.log"))
    s = statuses(p)
    assert s["filesystems:devpts_pts"] == "pass"
    assert s["filesystems:devpts_pts/devpts_pts"] == "pass"
    assert s["filesystems:binderfs_test"] == "missing"
    assert s["filesystems:binderfs_test/global.binderfs_stress"] == "pass"
    assert s["filesystems:binderfs_test/test 2"] == "missing"
    assert not p.complete
    devpts = find(p, "filesystems:devpts_pts")
    assert "[   31.500100] devpts: called with bogus options" in devpts.log
    assert (6, "[   31.500100] devpts: called with bogus options") in p.unknown
    binder = find(p, "filesystems:binderfs_test")
    assert binder.line is None and binder.reason == "started but never reported"
    assert any("Kernel panic" in x for x in binder.log)


def test_runner_lines_before_a_header_are_not_a_test_log():
    p = parse_kselftest(["TAP version 13", "1..1", "# timeout set to 45",
                         "# selftests: x: y", "# hello", "ok 1 selftests: x: y"])
    assert p.tests[0].log == ["hello"] and p.tests[0].name == "x:y"


def test_plan_entries_never_reported_are_missing():
    p = parse_kselftest(["TAP version 13", "1..3", "# selftests: net: a",
                         "ok 1 selftests: net: a"])
    assert statuses(p) == {"net:a": "pass", "net:test 2": "missing", "net:test 3": "missing"}
    assert not p.complete and "plan promised 3 tests, the log reported 1" in p.notes


def test_netns_create_failure_is_a_failure_with_its_reason():
    p = parse_kselftest(["TAP version 13", "1..1",
                         "not ok 1 selftests: net: udpgso.sh # Create NS failed"])
    t = p.tests[0]
    assert (t.name, t.status.value, t.reason) == ("net:udpgso.sh", "fail", "Create NS failed")


def test_header_only_is_missing():
    p = parse_kselftest(["TAP version 13", "1..1", "# selftests: bpf: test_verifier"])
    assert statuses(p) == {"bpf:test_verifier": "missing"} and not p.complete


def test_version_line_only_is_incomplete():
    p = parse_kselftest(["TAP version 13"])
    assert p.tests == [] and not p.complete


def test_no_runner_output_is_a_parse_error():
    with pytest.raises(ParseError) as e:
        parse_kselftest(["just", "# a comment"], name="run.log")
    assert e.value.line == 1 and e.value.path == "run.log"
