import os
import time

import pytest

from common import errors
from common.fsutil import atomic_write, read_json, write_json
from common.proc import FakeRunner, Runner, fmt_cmd
from common.progress import Progress, fmt_secs


def test_runner_captures_output_and_rc():
    r = Runner().run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert r.returncode == 3 and r.stdout == "out\n" and r.stderr == "err\n"
    assert not r.ok


def test_runner_timeout_kills_whole_group(tmp_path):
    pidfile = tmp_path / "child.pid"
    start = time.monotonic()
    with pytest.raises(errors.StageTimeout):
        Runner().run(["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"], timeout=1)
    assert time.monotonic() - start < 15
    child = int(pidfile.read_text())
    time.sleep(0.5)
    assert not alive(child)


def alive(pid: int) -> bool:
    """True when pid runs (a zombie left for init to reap does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_runner_streams_to_log_before_finishing(tmp_path):
    log = tmp_path / "x.log"
    with pytest.raises(errors.StageTimeout):
        Runner().run(["sh", "-c", "echo first; sleep 30"], log=log, timeout=1)
    assert "first" in log.read_text()


def test_runner_check_raises_typed_error():
    with pytest.raises(errors.BuildError) as e:
        Runner().run(["false"], check=True, error=errors.BuildError)
    assert e.value.exit_code == errors.EXIT_BUILD


def test_runner_missing_command_is_typed():
    with pytest.raises(errors.InfraError, match="command not found"):
        Runner().run(["/nonexistent/cmd-xyz"])


def test_runner_echoes_commands_when_verbose(tmp_path):
    seen = []
    Runner(verbose=True, echo=seen.append, cmdlog=tmp_path / "c.log").run(["echo", "a b"])
    assert seen == ["+ echo 'a b'"]
    assert (tmp_path / "c.log").read_text() == "echo 'a b'\n"


def test_fmt_cmd_quotes_metacharacters():
    assert fmt_cmd(["ls", "a;rm -rf /"], cwd="/t", env={"X": "1 2"}) == \
        "cd /t && X='1 2' ls 'a;rm -rf /'"


def test_fake_runner_records_and_fails_on_unknown():
    f = FakeRunner().on("git status", stdout="clean")
    assert f.run(["git", "status"]).stdout == "clean"
    assert f.calls[0]["argv"] == ["git", "status"]
    with pytest.raises(AssertionError):
        f.run(["make"])


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "d" / "f.json"
    write_json(p, {"a": 1})
    write_json(p, {"b": 2})
    assert read_json(p) == {"b": 2}
    assert [x.name for x in p.parent.iterdir()] == ["f.json"]
    atomic_write(p, b"raw")
    assert p.read_bytes() == b"raw"


def test_input_error_names_file_and_line():
    e = errors.InputError("bad thing", path="a.yaml", line=7)
    assert str(e) == "a.yaml:7: bad thing" and e.exit_code == errors.EXIT_USAGE


def test_exit_codes_are_distinct():
    codes = [errors.UsageError.exit_code, errors.ApplyError.exit_code,
             errors.ConfigError.exit_code, errors.BuildError.exit_code,
             errors.BootError.exit_code, errors.InfraError.exit_code]
    assert codes == [2, 3, 4, 5, 6, 7]


def test_progress_quiet_without_tty(capsys):
    import io
    buf = io.StringIO()
    p = Progress(stream=buf)
    t = p.start("build")
    p.counter("build", "10/100")
    p.end("build", t, "ok")
    out = buf.getvalue()
    assert "start" not in out and "10/100" not in out
    assert out.startswith("[build] ok in ")


def test_fmt_secs():
    assert fmt_secs(5) == "5.0s" and fmt_secs(125) == "2m05s" and fmt_secs(3725) == "1h02m05s"
