"""Issue 25, splat capture that cannot miss: new dmesg records are found by
timestamp, not by line count (a full, wrapped log buffer keeps the same number
of lines), the console stream (kept whole) is scanned too, and a splat the
kernel prints while a timed-out test is being killed counts for that test."""
import threading
from pathlib import Path

from results.splat import LogCursor, find_splats, merge_found
from selftests.run import run_suite
from test_selftests_run import FakeVM, req, suite

DATA = Path(__file__).parent / "data" / "dmesg-wrapped"
FIRST = (DATA / "first.txt").read_text().splitlines()
SECOND = (DATA / "second.txt").read_text().splitlines()     # wrapped: same line count


def test_cursor_finds_the_report_after_the_buffer_wrapped():
    cur = LogCursor()
    assert cur.new(FIRST) == FIRST
    fresh = cur.new(SECOND)
    assert len(SECOND) == len(FIRST) and len(fresh) == 224
    assert [s.kind for s in find_splats(fresh)] == ["kasan"]
    assert cur.new(SECOND) == []


def test_cursor_same_timestamp_and_continuation_lines():
    cur = LogCursor()
    cur.new(["[1.000000] a", "[2.000000] b"])
    assert cur.new(["[1.000000] a", "[2.000000] b", "[2.000000] c", " cont"]) == \
        ["[2.000000] c", " cont"]
    assert cur.new(["no stamps"]) == ["no stamps"]      # no timestamps: by count


def test_wrapped_buffer_through_run_suite(tmp_path):
    """The KASAN report arrives while test b runs, after the log buffer filled up."""
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\n")

    def script(vm, line, n):
        vm.dmesg = FIRST if "-a a" in line else SECOND
        return ("ok a\n" if "-a a" in line else "ok b\n"), 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert [(sp.test, sp.kind) for sp in res.parsed.splats] == [("b", "kasan")]
    assert "BUG: KASAN" in res.dmesg_log.read_text()


WARN = ["[9.100000] WARNING: CPU: 0 PID: 77 at kernel/exit.c:900 do_exit+0x1/0x2",
        "[9.100100] Call Trace:", "[9.100200]  <TASK>", "[9.100300]  do_exit+0x1/0x2",
        "[9.100400]  </TASK>"]


def test_splat_printed_while_the_test_is_killed_counts_for_it(tmp_path):
    """Test a times out; the kernel prints a WARNING from the dying task a moment
    after the kill returned. It belongs to a, not to b, which ran next."""
    s = suite(tmp_path, "runner: test_progs\nallow: [a, b]\n")

    def late_warning(vm):
        vm.console.buf.extend(WARN)
        vm.dmesg = vm.dmesg + WARN

    def script(vm, line, n):
        if "-a a" in line:
            threading.Timer(0.3, late_warning, args=(vm,)).start()
            return "", 137, True
        return "ok b\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert [(sp.test, sp.kind) for sp in res.parsed.splats] == [("a", "warning")]


def test_console_splat_missing_from_dmesg_is_found(tmp_path):
    """The console has the report (dmesg lost it); it is counted once, and a
    splat in both places is counted once too."""
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\n")

    def script(vm, line, n):
        vm.console.buf.extend(WARN)
        return "ok a\n", 0, False
    vm = FakeVM(script, tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert [(sp.test, sp.kind) for sp in res.parsed.splats] == [("a", "warning")]
    both = find_splats(WARN)
    assert len(merge_found(both, find_splats(WARN))) == 1
    assert len(merge_found(both, find_splats(WARN + WARN))) == 2
