"""Issue 25, unbounded output: the console and SSH output are streamed to disk
up to a cap and kept in memory as a bounded window; past a cap the file and the
result say so (never silently)."""
import io

from vm import console as console_mod
from vm import ssh as ssh_mod
from vm.console import ConsoleCapture
from selftests.run import run_suite
from test_selftests_run import FakeVM, req, suite
from test_vm_ssh import Clock, FakeChannel, connected


def test_console_keeps_a_window_and_caps_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(console_mod, "WINDOW_LINES", 100)
    monkeypatch.setattr(console_mod, "FILE_CAP", 10_000)
    monkeypatch.setattr(console_mod, "MAX_LINE", 1000)
    flood = b"".join(b"line %d\n" % i for i in range(5000)) + b"x" * 5500
    log = tmp_path / "console.log"
    cap = ConsoleCapture(io.BytesIO(flood), log)
    cap.join()
    lines = cap.lines()
    assert cap.count() == 5006 and len(lines) == 100         # the last lines only
    assert lines[-2:] == ["x" * 1000, "x" * 500]            # a flood without newlines is split
    assert cap.since(5004) == ["x" * 1000, "x" * 500]
    assert cap.window_start == 4906 and cap.since(0)[0] == lines[0]
    data = log.read_bytes()
    assert data.startswith(b"line 0\n") and cap.truncated == len(flood) - 10_000
    assert data.endswith(f"not saved: {cap.truncated} bytes dropped]\n".encode())
    assert len(data) < 10_000 + 200


def test_exec_keeps_the_tail_and_says_what_it_dropped(monkeypatch):
    monkeypatch.setattr(ssh_mod, "EXEC_CAP", 10)
    ch = FakeChannel(Clock(), [("out", b"0123456789"), ("out", b"abcdef\n")])
    s, _ = connected([ch])
    res = s.exec("x", timeout=10)
    assert res.truncated == 7
    assert res.stdout == "[kharness: first 7 bytes of output dropped (cap 10)]\n789abcdef\n"


def test_stream_stops_writing_at_the_cap_and_notes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(ssh_mod, "STREAM_CAP", 8)
    out = tmp_path / "log.txt"
    ch = FakeChannel(Clock(), [("out", b"ok a\nok "), ("out", b"b\n" * 1000)])
    s, _ = connected([ch])
    res = s.stream("x", out, timeout=10)
    assert res.truncated == 2000 and res.rc == 0
    assert out.read_text() == "ok a\nok \n[kharness: output past 8 bytes not saved: 2000 bytes dropped]\n"


def test_truncated_group_output_makes_the_suite_incomplete(tmp_path):
    s = suite(tmp_path, "runner: test_progs\nallow: [a]\n")

    class Flooding(FakeVM):
        def stream(self, line, out_path, timeout):
            res = super().stream(line, out_path, timeout)
            res.truncated = 12345
            return res
    vm = Flooding(lambda vm, line, n: ("ok a\n", 0, False), tmp_path)
    res = run_suite(req(tmp_path, s), vm)
    assert not res.parsed.complete
    assert any("12345 bytes past the cap" in n for n in res.parsed.notes)
    assert res.groups[0].to_dict()["truncated"] == 12345
