"""fetch: offline fails fast with where to put the mbox; a local mbox fixture through
b4 (-m) and through our own import; what gets stored; then it applies."""
from __future__ import annotations

import json
import shutil
import socket
import time
from pathlib import Path

import pytest

from common.errors import InputError, OfflineError
from common.proc import FakeRunner
from patches.apply import ApplyRequest, apply_series
from patches.fetch import FetchRequest, fetch
from patches.manifest import find_series
from patches.source import revision_status
from patches.treeimport import ImportRequest, import_tree
from test_patches_common import DATA, cache, git_repo, runner, write_manifest  # noqa: F401

FIXTURE = DATA / "demo-v1.mbx"


def closed_port() -> tuple[str, int]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return ("127.0.0.1", port)


@pytest.fixture
def demo(cache):
    return write_manifest(cache, "demo", [
        {"version": "v1", "date": "2025-01-02", "message_id": "demo-v1-0@example.org",
         "patches": 2, "base": {"tree": "fake", "ref": "v6.12.117"}},
        {"version": "v1-port", "upstream": "v1", "base": {"tree": "fake"}}])


def test_offline_fails_fast_and_says_where_to_put_the_mbox(demo):
    fr = FakeRunner()
    t0 = time.monotonic()
    with pytest.raises(OfflineError) as e:
        fetch(FetchRequest("demo", "v1", lore=closed_port(), probe_timeout=3), fr)
    assert time.monotonic() - t0 < 3.5
    dest = demo / "v1" / "v1.mbx"
    assert f"cannot reach 127.0.0.1; put the mbox at {dest}" in str(e.value)
    assert "https://lore.kernel.org/r/demo-v1-0@example.org" in str(e.value)
    assert fr.calls == [] and not dest.exists()


def test_probe_timeout_bounds_an_unanswering_host(demo, monkeypatch):
    seen = {}

    def slow(addr, timeout):
        seen["timeout"] = timeout
        raise socket.timeout("timed out")
    monkeypatch.setattr("patches.fetch.socket.create_connection", slow)
    with pytest.raises(OfflineError, match="cannot reach lore.kernel.org"):
        fetch(FetchRequest("demo", "v1"), FakeRunner())
    assert seen["timeout"] == 3.0


def test_online_runs_b4_am_with_the_message_id(demo, monkeypatch):
    monkeypatch.setattr("patches.fetch.lore_reachable", lambda *a: True)

    def b4_writes(argv):
        out = Path(argv[argv.index("-o") + 1])
        shutil.copyfile(FIXTURE, out / f"{argv[argv.index('-n') + 1]}.mbx")
    fr = FakeRunner().on(lambda a: a[:2] == ["b4", "am"], effect=b4_writes)
    res = fetch(FetchRequest("demo", "v1"), fr)
    argv = fr.calls[0]["argv"]
    assert argv[-1] == "demo-v1-0@example.org" and "--no-cover" in argv
    assert argv[argv.index("-v") + 1] == "1"
    assert res.method == "b4" and res.subjects == ["fs: give namei_5 a value",
                                                   "bpf: add a path iterator"]


@pytest.mark.skipif(shutil.which("b4") is None, reason="needs b4")
def test_local_mbox_through_b4(demo, runner):
    res = fetch(FetchRequest("demo", "v1", mbox=FIXTURE), runner)
    assert res.method == "b4-local" and len(res.subjects) == 2
    stored = demo / "v1" / "v1.mbx"
    sums = (demo / "v1" / "SHA256SUMS").read_text().split()
    assert sums == [res.sha256, "v1.mbx"] and stored.is_file()
    meta = json.loads((demo / "v1" / "fetch.json").read_text())
    assert meta["message_id"] == "demo-v1-0@example.org" and len(meta["patches"]) == 2


def test_local_mbox_without_b4_then_apply(demo, runner, tmp_path, monkeypatch):
    monkeypatch.setattr("patches.fetch.shutil.which", lambda name: None)
    res = fetch(FetchRequest("demo", "v1", mbox=FIXTURE), runner)
    assert res.method == "local"
    assert (demo / "v1" / "v1.mbx").read_bytes() == FIXTURE.read_bytes()
    s = find_series("demo")
    assert revision_status(s, s.revision("v1")).text() == "patches present 2/2 (mbox)"
    assert revision_status(s, s.revision("v1-port")).text() == "no patches yet"
    import_tree(ImportRequest(str(git_repo(tmp_path / "k")), ref="v6.12.117", name="fake"),
                runner)
    applied = apply_series(ApplyRequest("demo", "v1"), runner)
    assert [p.status for p in applied.patches] == ["clean", "clean"]
    # a mbox put in place by hand is picked up without the network
    again = fetch(FetchRequest("demo", "v1", lore=closed_port()), FakeRunner())
    assert again.method == "present" and again.sha256 == res.sha256


@pytest.mark.parametrize("name,match", [("empty.mbx", "empty mbox"),
                                        ("malformed.mbx", "malformed mbox"),
                                        ("nodiff.mbx", "not a diff"),
                                        ("dotdot.mbx", "path outside the tree"),
                                        ("incomplete.mbx", r"patch\(es\) \[2\] of 3 missing")])
def test_bad_mbox_is_refused_and_nothing_stored(demo, runner, name, match):
    with pytest.raises(InputError, match=match) as e:
        fetch(FetchRequest("demo", "v1", mbox=DATA / name), runner)
    assert e.value.path == str(DATA / name)
    assert not (demo / "v1").exists()


def test_count_mismatch_is_refused(cache, runner, monkeypatch):
    monkeypatch.setattr("patches.fetch.shutil.which", lambda name: None)
    d = write_manifest(cache, "three", [{"version": "v1", "date": "2025-01-02",
                                         "message_id": "demo-v1-0@example.org", "patches": 3,
                                         "base": {"tree": "fake"}}])
    with pytest.raises(InputError, match="mbox holds 2 patches; the manifest says"):
        fetch(FetchRequest("three", "v1", mbox=FIXTURE), runner)
    assert not (d / "v1").exists()


def test_port_has_nothing_to_fetch(demo):
    with pytest.raises(InputError, match="port revision with no message_id"):
        fetch(FetchRequest("demo", "v1-port"), FakeRunner())
