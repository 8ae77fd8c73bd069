"""test_progs text and -J output (results/test_progs.py), in 6.12's formats."""
import json
from pathlib import Path

import pytest

from common.errors import ParseError
from results.test_progs import parse_test_progs, parse_test_progs_json

from logdata import LOGS, find, lines, statuses  # noqa: F401


def test_failures_run_counts_each_test_once():
    p = parse_test_progs(lines("test_progs-6.12-failures.log"))
    assert [t.name for t in p.tests] == ["align", "arena_atomics", "atomic_bounds", "bpf_loop",
                                         "d_path", "global_data", "xdp_adjust_tail"]
    s = statuses(p)
    assert s["align/unknown shift"] == "pass" and s["arena_atomics"] == "skip"
    assert s["d_path"] == "fail" and s["d_path/basic"] == "fail"
    assert s["d_path/check_rdonly_mem"] == "pass" and s["global_data"] == "fail"
    assert s["xdp_adjust_tail"] == "pass" and s["xdp_adjust_tail/xdp_adjust_tail_grow"] == "skip"
    assert find(p, "xdp_adjust_tail").reason == "SKIP: 1/2"
    assert [t.number for t in p.tests] == [4, 9, 29, 43, 88, 131, 200]
    assert p.complete
    assert p.notes == ["Summary: 5/15 PASSED, 3 SKIPPED, 2 FAILED"]


def test_failure_logs_attach_to_the_failed_result():
    p = parse_test_progs(lines("test_progs-6.12-failures.log"))
    basic = find(p, "d_path/basic")
    assert basic.log == [
        "test_d_path_basic:PASS:setup 0 nsec", "test_d_path_basic:PASS:trigger 0 nsec",
        "test_d_path_basic:FAIL:check_pathname_correct unexpected check_pathname_correct: "
        "actual 3 != expected 0"]
    assert basic.line == 22 and find(p, "d_path").line == 25
    assert find(p, "global_data").log[1] == \
        "test_global_data_number:FAIL:relocate .bss number 4 err 0 result 0 expected 4"
    assert find(p, "d_path/check_rdonly_mem").log == []


def test_error_log_section_fills_in_a_log_the_first_pass_lacked():
    text = ["#1/1     t/a:FAIL", "#1       t:FAIL", "", "All error logs:",
            "t_a:FAIL:x unexpected x: got FALSE", "#1/1     t/a:FAIL", "#1       t:FAIL",
            "Summary: 0/0 PASSED, 0 SKIPPED, 1 FAILED"]
    p = parse_test_progs(text)
    assert statuses(p) == {"t": "fail", "t/a": "fail"}
    assert find(p, "t/a").log == ["t_a:FAIL:x unexpected x: got FALSE"]
    assert p.complete and len(p.notes) == 1


def test_summary_that_disagrees_is_noted():
    p = parse_test_progs(["#1       t:OK", "Summary: 2/0 PASSED, 0 SKIPPED, 0 FAILED"])
    assert "the Summary says 2 and 0" in p.notes[-1]


def test_verbose_run_cut_by_a_kernel_oops():
    p = parse_test_progs(lines("test_progs-6.12-verbose-oops.log"))
    s = statuses(p)
    assert s["align"] == "pass" and s["bpf_iter"] == "missing"
    assert s["bpf_iter/btf_id_or_null"] == "pass" and s["bpf_iter/task_tid"] == "pass"
    assert not p.complete
    assert find(p, "align/mov").log[-1] == "test_align:PASS:bpf_prog_load 0 nsec"
    assert find(p, "align/mov").log[0] == "bpf_testmod.ko is already unloaded."
    missing = find(p, "bpf_iter")
    assert missing.log[0] == "test_task_vma_common:PASS:bpf_iter_task_vma__open 0 nsec"


def test_output_truncated_mid_line():
    p = parse_test_progs(lines("test_progs-6.12-truncated.log"))
    s = statuses(p)
    assert s["bpf_iter"] == "missing" and s["bpf_iter/ipv6_route"] == "pass"
    assert "bpf_iter/netlink" not in s
    assert find(p, "bpf_iter").log == ["#34/3    bpf_iter/netlink:O"]
    assert not p.complete and "no Summary line: test_progs did not finish" in p.notes


def test_watchdog_kill_is_a_timeout_and_the_stack_trace_joins_the_test():
    p = parse_test_progs(lines("test_progs-watchdog.log"))
    s = statuses(p)
    assert s["bpf_loop"] == "timeout" and s["bpf_loop/check_stack"] == "timeout"
    loop = find(p, "bpf_loop")
    assert "terminating with SIGSEGV" in loop.reason
    assert loop.log[-2:] == ["./test_progs(+0x2f6c1)[0x55d0c6f2c6c1]",
                             "./test_progs(main+0x5b4)[0x55d0c6f2d0f4]"]
    assert not p.complete


def test_segfault_without_watchdog_is_a_crash_failure():
    p = parse_test_progs(["#1       a:OK", "#2       b:FAIL", "Caught signal #11!",
                          "Stack trace:", "./test_progs(crash_handler+0x1f)[0x1]"])
    b = p.tests[1]
    assert (b.status.value, b.reason) == ("fail", "crashed: signal 11")
    assert b.log == ["Caught signal #11!", "Stack trace:", "./test_progs(crash_handler+0x1f)[0x1]"]
    assert p.notes == ["no Summary line: test_progs did not finish"]


def test_debug_parallel_start_without_result_is_missing():
    p = parse_test_progs(["[1]: #3:bpf_iter running.", "[0]: #1:align running.",
                          "[0]: #1:align done.", "#1       align:OK"])
    assert statuses(p) == {"align": "pass", "bpf_iter": "missing"}
    assert not p.complete


def test_subtest_names_with_colons_slashes_and_spaces():
    p = parse_test_progs(["#100/3   verifier_and/invalid and: of/negative @unpriv:OK",
                          "#100     verifier_and:OK", "Summary: 1/1 PASSED, 0 SKIPPED, 0 FAILED"])
    assert statuses(p) == {"verifier_and": "pass",
                           "verifier_and/invalid and: of/negative @unpriv": "pass"}


def test_setup_failure_lines_are_log_not_results():
    p = parse_test_progs(["#5 cgroup_x: Failed to setup cgroup environment",
                          "#5       cgroup_x:FAIL"])
    assert p.tests[0].log == ["#5 cgroup_x: Failed to setup cgroup environment"]


def test_no_results_is_a_parse_error():
    with pytest.raises(ParseError) as e:
        parse_test_progs(["libbpf: failed to find BTF", "Segmentation fault"], name="tp.log")
    assert e.value.line == 1 and e.value.path == "tp.log"


def test_json_lists_failed_tests_and_failed_subtests():
    p = parse_test_progs_json((LOGS / "test_progs-6.12-failures.json").read_text())
    assert statuses(p) == {"d_path": "fail", "d_path/basic": "fail", "global_data": "fail"}
    assert find(p, "d_path/basic").log[-1].endswith("actual 3 != expected 0")
    assert [t.number for t in p.tests] == [88, 131]
    assert p.notes[0].startswith("JSON lists only failures")
    assert p.notes[1] == "counts: success=5, success_subtest=15, skipped=3, failed=2"
    assert len(p.notes) == 2


def test_json_agrees_with_the_text_of_the_same_run():
    text = parse_test_progs(lines("test_progs-6.12-failures.log"))
    js = parse_test_progs_json((LOGS / "test_progs-6.12-failures.json").read_text())
    bad = {p for p, t in text.flat() if t.status.is_bad}
    assert {p for p, _ in js.flat()} == bad


@pytest.mark.parametrize("text,line", [
    ("{not json", 1), ('{"x": 1}', 1), ("[1, 2]", 1), ('{\n"results": [\n}', 3),
    ('{"results": 5}', 1),
])
def test_json_refuses_bad_input(text, line):
    with pytest.raises(ParseError) as e:
        parse_test_progs_json(text, name="s.json")
    assert e.value.line == line and e.value.path == "s.json"


def test_json_tolerates_odd_members():
    doc = {"failed": 3, "results": [{"name": "a", "failed": True, "subtests": "x"}, 7,
                                    {"number": "n"}]}
    p = parse_test_progs_json(json.dumps(doc))
    assert [(t.name, t.status.value, t.number) for t in p.tests] == \
        [("a", "fail", None), ("?", "pass", None)]
    assert "'failed' says 3, 'results' lists 2" in p.notes
