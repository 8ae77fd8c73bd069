"""KTAP / TAP parser and writer (results/ktap.py) on recorded-format logs and
small inline cases."""
from pathlib import Path

import pytest

from common.errors import ParseError
from results.ktap import emit_ktap, parse_ktap
from results.model import Status, TestResult

from logdata import LOGS, find, lines, statuses  # noqa: F401


def test_kunit_console_output_with_timestamps():
    p = parse_ktap(lines("kunit-6.12-console.log"))
    s = statuses(p)
    assert [t.name for t in p.tests] == ["example", "list-kunit-test", "example_init"]
    assert s["example"] == "pass" and s["list-kunit-test"] == "fail"
    assert s["example/example_skip_test"] == "skip"
    assert find(p, "example/example_skip_test").reason == "this test should be skipped"
    assert s["example/example_params_test/example value 3"] == "skip"
    assert s["example/example_params_test/example value 2"] == "pass"
    assert s["list-kunit-test/list_test_list_add"] == "fail"
    assert s["example_init/example_init_test"] == "pass"
    assert p.complete and p.counts() == {"pass": 11, "skip": 4, "fail": 1}


def test_kunit_diagnostics_and_unknown_lines_join_the_next_result():
    p = parse_ktap(lines("kunit-6.12-console.log"))
    add = find(p, "list-kunit-test/list_test_list_add")
    assert add.log[0] == "list_test_list_add: EXPECTATION FAILED at lib/list-test.c:71"
    assert "Expected list.next == &b, but" in add.log
    params = find(p, "example/example_params_test")
    assert "example_params_test: pass:2 fail:0 skip:2 total:4" in params.log
    assert find(p, "example/example_simple_test").log == [
        "example_simple_test: initializing", "example_simple_test: cleaning up"]
    assert (1, "Freeing SMP alternatives memory: 40K") in p.unknown
    assert (65, "virtio_blk virtio1: [vda] 2097152 512-byte logical blocks "
                "(1.07 GB/1.00 GiB)") in p.unknown
    assert find(p, "list-kunit-test/list_test_list_add").line == 64


def test_kunit_crash_marks_the_rest_missing():
    p = parse_ktap(lines("kunit-6.12-crash.log"))
    s = statuses(p)
    assert s == {"list-kunit-test": "missing", "list-kunit-test/list_test_list_init": "pass",
                 "list-kunit-test/test 2": "missing", "list-kunit-test/test 3": "missing",
                 "test 2": "missing"}
    assert not p.complete


def test_ktap_doc_example_nesting():
    text = """KTAP version 1
1..1
  KTAP version 1
  1..3
    KTAP version 1
    1..1
    # test_1: initializing test_1
    ok 1 test_1
  ok 1 example_test_1
    KTAP version 1
    1..2
    ok 1 test_1 # SKIP test_1 skipped
    ok 2 test_2
  ok 2 example_test_2
    KTAP version 1
    1..3
    ok 1 test_1
    # test_2: FAIL
    not ok 2 test_2
    ok 3 test_3 # SKIP test_3 skipped
  not ok 3 example_test_3
not ok 1 main_test"""
    p = parse_ktap(text.splitlines())
    s = statuses(p)
    assert s["main_test"] == "fail" and s["main_test/example_test_1/test_1"] == "pass"
    assert s["main_test/example_test_2/test_1"] == "skip"
    assert s["main_test/example_test_3/test_2"] == "fail"
    assert find(p, "main_test/example_test_3/test_2").log == ["test_2: FAIL"]
    assert find(p, "main_test/example_test_1/test_1").log == ["test_1: initializing test_1"]
    assert p.complete and len(s) == 10


def test_tap14_subtest_headers_and_yaml():
    p = parse_ktap(lines("tap14-subtests.tap"))
    s = statuses(p)
    assert s == {"parser": "pass", "parser/reads plans": "pass",
                 "parser/reads results": "pass", "writer": "fail",
                 "writer/writes plans": "pass", "writer/writes results": "fail",
                 "cleanup": "skip"}
    yaml = find(p, "writer/writes results").log
    assert yaml == ["---", 'message: "lost the directive"', "severity: fail", "..."]
    assert find(p, "cleanup").reason == "nothing to clean"


def test_subtest_header_names_a_block_whose_result_has_no_name():
    p = parse_ktap(["TAP version 14", "1..1", "# Subtest: grp", "    1..1",
                    "    ok 1 - a", "ok 1"])
    assert statuses(p) == {"grp": "pass", "grp/a": "pass"}


def test_tap13_yaml_todo_and_bail_out():
    p = parse_ktap(lines("tap13-yaml-bail.tap"))
    assert statuses(p) == {"first": "pass", "second": "fail", "third": "todo",
                           "fourth": "todo", "test 5": "missing"}
    assert not p.complete and any("Bail out! database went away" in n for n in p.notes)
    assert find(p, "second").log[:2] == ["---", 'message: "expected 3, got 2"']


@pytest.mark.parametrize("text,status,reason", [
    ("ok 1 a # SKIP no hw", "skip", "no hw"), ("ok 1 a # skip", "skip", ""),
    ("not ok 1 a # SKIP", "skip", ""),
    ("not ok 1 a # TIMEOUT 45 seconds", "timeout", "45 seconds"),
    ("not ok 1 a # ERROR boom", "error", "boom"), ("not ok 1 a # error boom", "error", "boom"),
    ("ok 1 a # XFAIL known", "xfail", "known"), ("not ok 1 a # XFAIL known", "fail", "known"),
    ("ok 1 a # XPASS odd", "pass", "XPASS odd"), ("not ok 1 a # todo later", "todo", "later"),
    ("ok 1 - a # a comment", "pass", "a comment"), ("ok 1 a #  rcode=0", "pass", "rcode=0"),
    ("not ok 1 a", "fail", ""), ("ok 1 a # ERROR missing: cut", "missing", "missing: cut"),
    ("ok 1 a # flaky: runs fail,pass", "flaky", "flaky: runs fail,pass"),
])
def test_directives(text, status, reason):
    t = parse_ktap(["KTAP version 1", "1..1", text]).tests[0]
    assert (t.name, t.status.value, t.reason) == ("a", status, reason)


def test_result_without_description_takes_the_skip_reason():
    p = parse_ktap(["TAP version 13", "1..3", "ok 1 CLOCK_REALTIME   ",
                    "ok 2 # SKIP CLOCK_TAI", "not ok 3"])
    assert [t.name for t in p.tests] == ["CLOCK_REALTIME", "CLOCK_TAI", "test 3"]


def test_results_without_numbers_and_trailing_plan():
    p = parse_ktap(["TAP version 13", "ok first", "not ok second", "1..2"])
    assert [(t.number, t.name, t.status.value) for t in p.tests] == \
        [(1, "first", "pass"), (2, "second", "fail")]
    assert p.complete


def test_short_plan_marks_missing_and_incomplete():
    p = parse_ktap(["TAP version 14", "1..3", "ok 1 a"])
    assert statuses(p) == {"a": "pass", "test 2": "missing", "test 3": "missing"}
    assert not p.complete


def test_nested_block_cut_before_its_result():
    p = parse_ktap(["KTAP version 1", "1..1", "  KTAP version 1", "  # Subtest: suite",
                    "  1..2", "  ok 1 one"])
    assert statuses(p) == {"suite": "missing", "suite/one": "pass", "suite/test 2": "missing"}
    assert not p.complete


def test_version_only_is_incomplete_not_passed():
    p = parse_ktap(["KTAP version 1"])
    assert p.tests == [] and not p.complete


def test_missing_plan_keeps_results_with_a_note():
    p = parse_ktap(["KTAP version 1", "ok 1 a"])
    assert p.complete and any("no plan" in n for n in p.notes)


def test_skip_all_plan():
    p = parse_ktap(["TAP version 13", "1..0 # SKIP no /dev/rtc"])
    assert p.tests == [] and p.complete
    assert p.notes == ["all tests skipped: no /dev/rtc"]


def test_unknown_lines_are_kept_with_numbers():
    p = parse_ktap(["KTAP version 1", "1..1", "garbage here", "ok 1 a"])
    assert p.unknown == [(3, "garbage here")]
    assert p.tests[0].log == ["garbage here"]


def test_crlf_lines():
    p = parse_ktap(["KTAP version 1\r\n", "1..1\r\n", "ok 1 a\r\n"])
    assert statuses(p) == {"a": "pass"}


def test_no_tap_at_all_is_a_parse_error_naming_file_and_line():
    with pytest.raises(ParseError) as e:
        parse_ktap(["hello", "world"], name="x.log")
    assert e.value.path == "x.log" and e.value.line == 1 and "x.log:1:" in str(e.value)


def test_emit_writes_nested_ktap():
    tests = [TestResult("suite", Status.FAIL, subtests=[
        TestResult("a", Status.PASS), TestResult("b", Status.FAIL, log=["boom"])]),
        TestResult("gone", Status.MISSING, reason="planned but never reported"),
        TestResult("wobbly", Status.FLAKY, runs=["fail", "pass"])]
    assert emit_ktap(tests) == "\n".join([
        "KTAP version 1", "1..3",
        "  KTAP version 1", "  # Subtest: suite", "  1..2",
        "  ok 1 a", "  # boom", "  not ok 2 b",
        "not ok 1 suite",
        "not ok 2 gone # ERROR missing: planned but never reported",
        "ok 3 wobbly # flaky: runs fail,pass"]) + "\n"


def test_emit_roundtrip_keeps_statuses_runs_and_awkward_names():
    tests = [TestResult("-dash", Status.PASS), TestResult("has # hash", Status.SKIP, reason="r"),
             TestResult("e", Status.ERROR, reason="missing: not really"),
             TestResult("f", Status.FLAKY, runs=["fail", "pass"]),
             TestResult("12", Status.TIMEOUT, reason="45 seconds")]
    back = parse_ktap(emit_ktap(tests).splitlines()).tests
    assert [(t.name, t.status) for t in back] == [
        ("-dash", Status.PASS), ("has _ hash", Status.SKIP), ("e", Status.ERROR),
        ("f", Status.FLAKY), ("12", Status.TIMEOUT)]
    assert back[3].runs == ["fail", "pass"] and back[4].reason == "45 seconds"


def test_emit_roundtrip_of_a_parsed_log():
    p = parse_ktap(lines("kunit-6.12-console.log"))
    again = parse_ktap(emit_ktap(p.tests).splitlines())
    assert statuses(again) == statuses(p)
    assert again.complete
