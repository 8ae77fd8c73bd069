"""`harness.py cache export KEY DIR` / `cache import DIR`: a finished build moves to
another machine's cache by its key, checked on import."""
import json

import pytest

import harness
from kbuild import build_kernel
from kbuild import cache as kcache

from test_kbuild_build import config, req, tree  # noqa: F401 - fixtures
from test_kbuild_fakes import make_calls, runner


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "a-cache"))
    return tmp_path / "a-cache"


def main(capsys, *argv):
    code = harness.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def exported(tree, config, tmp_path, monkeypatch, capsys):  # noqa: F811
    """A build on machine A, exported (by a key prefix), and machine B's empty cache."""
    res = build_kernel(req(tree, config), runner())
    (res.artifacts_dir / "modules").mkdir()
    (res.artifacts_dir / "modules" / "m.ko").write_bytes(b"\x7fELF module")
    (res.artifacts_dir / "modules" / "build").symlink_to("/nonexistent/build")
    code, out, _ = main(capsys, "cache", "export", res.key[:12], tmp_path / "carry")
    assert code == 0 and f"exported: {res.key}" in out
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "b-cache"))
    return res, tmp_path / "carry"


def test_export_then_import_is_a_cache_hit_on_the_other_machine(exported, tree, config,  # noqa: F811
                                                                 tmp_path, capsys):
    res, carry = exported
    assert kcache.lookup(res.key) is None
    code, out, _ = main(capsys, "cache", "import", carry)
    assert code == 0 and f"imported: {res.key}" in out
    got = kcache.lookup(res.key)
    assert got == tmp_path / "b-cache/kbuild/artifacts" / res.key
    assert (got / "bzImage").read_bytes() == (res.artifacts_dir / "bzImage").read_bytes()
    assert (got / "modules/m.ko").read_bytes() == b"\x7fELF module"
    assert (got / "modules/build").is_symlink() and not (got / "export.json").exists()
    again = build_kernel(req(tree, config), fr := runner())
    assert again.cached and again.key == res.key and make_calls(fr) == []


@pytest.mark.parametrize("damage,needle", [
    (lambda d: (d / "bzImage").write_bytes(b"tampered"), "bzImage (checksum differs)"),
    (lambda d: (d / "vmlinux").unlink(), "vmlinux (missing)"),
    (lambda d: (d / "extra.bin").write_bytes(b"x"), "extra.bin (unexpected)"),
    (lambda d: (d / "complete").write_text(json.dumps({"key": "0" * 64})),
     "'complete' marker is for key 0000"),
    (lambda d: (d / "export.json").write_text("{"), "unreadable export manifest"),
    (lambda d: d.rename(d.parent / ("f" * 64)), "but its manifest says key"),
])
def test_a_corrupt_export_is_refused_and_nothing_is_stored(exported, capsys, damage,
                                                           needle, tmp_path):
    res, carry = exported
    damage(carry / res.key)
    code, _, err = main(capsys, "cache", "import", carry)
    assert code == 2 and needle in err and str(carry) in err
    assert kcache.lookup(res.key) is None and not (tmp_path / "b-cache/kbuild").exists()


def test_export_unknown_key_and_import_empty_dir(capsys, tmp_path):
    code, _, err = main(capsys, "cache", "export", "deadbeefdeadbeef", tmp_path / "x")
    assert code == 2 and "no finished build with key 'deadbeefdeadbeef'" in err
    (tmp_path / "empty").mkdir()
    code, _, err = main(capsys, "cache", "import", tmp_path / "empty")
    assert code == 2 and "no exported build here" in err
