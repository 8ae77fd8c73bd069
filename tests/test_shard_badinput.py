"""Bad input to the shard contract loses nothing: a refused merge (shard of another
plan, unreadable run.json) leaves every shard dir and an earlier merged report as
they were; a refused import of a corrupt artifact leaves the carried dir and the
builds already in the cache as they were."""
import hashlib
import json
import shutil

import pytest

from kbuild import cache as kcache

from test_cache_export import cache_home, exported, main  # noqa: F401 - fixtures
from test_kbuild_build import config, tree  # noqa: F401 - fixtures
from tests.test_shard_merge import merge, plans, run_shard


def snapshot(root) -> dict:
    """Every file under root (links as their target) with its content hash."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = "-> " + str(p.readlink())
        elif p.is_file():
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


def test_a_shard_of_another_plan_changes_nothing(tmp_path, capsys):
    s1, s2 = run_shard(tmp_path, 1, 2), run_shard(tmp_path, 2, 2)
    code, _, _ = merge(capsys, s1, s2, "--out", tmp_path / "m")
    assert code == 1                                  # the earlier, good merge
    other = run_shard(tmp_path, 2, 2, all_plans=plans()[:3], name="other")
    before = {d: snapshot(d) for d in (s1, s2, other, tmp_path / "m")}
    code, _, err = merge(capsys, s1, other, "--out", tmp_path / "m")
    assert code == 2 and "from another plan" in err and str(other / "run.json") in err
    assert {d: snapshot(d) for d in before} == before


def test_a_shard_with_an_unreadable_run_json_changes_nothing(tmp_path, capsys):
    s1, s2 = run_shard(tmp_path, 1, 2), run_shard(tmp_path, 2, 2)
    (s2 / "run.json").write_text('{"plan": {"id": ')          # cut short (a killed copy)
    before = {d: snapshot(d) for d in (s1, s2)}
    code, _, err = merge(capsys, s1, s2, "--out", tmp_path / "m")
    assert code == 2 and "unreadable run.json" in err and str(s2 / "run.json") in err
    assert {d: snapshot(d) for d in before} == before and not (tmp_path / "m").exists()


@pytest.mark.parametrize("text,needle", [
    (["not", "a", "run"], "run.json is not an object"),
    ({"jobs": "x"}, "'jobs' is not a list of objects"),
    ({"plan": {"id": "p"}}, "'plan' lacks an id, shard, shards or a valid index"),
    ({"plan": {"id": "p", "shard": "3/2", "shards": 2, "index": 2}}, "a valid index"),
])
def test_a_run_json_of_the_wrong_shape_is_refused(tmp_path, capsys, text, needle):
    s1, s2 = run_shard(tmp_path, 1, 2), run_shard(tmp_path, 2, 2)
    (s2 / "run.json").write_text(json.dumps(text))
    code, _, err = merge(capsys, s1, s2, "--out", tmp_path / "m")
    assert code == 2 and needle in err and str(s2 / "run.json") in err
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("damage", ["bzImage", "vmlinux"])
def test_a_corrupt_artifact_keeps_the_build_already_in_the_cache(exported, capsys,  # noqa: F811
                                                                 tmp_path, damage):
    """Machine B already imported the good build; a later, damaged copy of it is
    refused, the stored build stays as it was and the damaged copy is left to look at."""
    res, carry = exported
    good = tmp_path / "good"
    shutil.copytree(carry, good, symlinks=True)
    assert main(capsys, "cache", "import", good)[0] == 0
    with kcache.job_scope():                   # lookup pins the build; released here
        stored = kcache.lookup(res.key)
    kept = snapshot(stored)
    target = carry / res.key / damage
    if damage == "bzImage":
        target.write_bytes(b"bit rot")
    else:
        target.unlink()
    carried = snapshot(carry)
    code, _, err = main(capsys, "cache", "import", carry)
    assert code == 2 and f"corrupt exported build {res.key[:12]}" in err and damage in err
    with kcache.job_scope():
        assert kcache.lookup(res.key) == stored and snapshot(stored) == kept
    assert snapshot(carry) == carried
    assert not [p for p in stored.parent.iterdir() if ".tmp-" in p.name]       # no tmp left


def test_one_corrupt_artifact_among_good_ones_stores_none(exported, capsys, tmp_path):  # noqa: F811
    """Two builds carried together, the second damaged: neither is stored."""
    res, carry = exported
    other_key = "e" * 64
    other = carry / other_key
    shutil.copytree(carry / res.key, other, symlinks=True)
    mf = json.loads((other / "export.json").read_text())
    (other / "export.json").write_text(json.dumps({**mf, "key": other_key}))
    (other / "complete").write_text(json.dumps({**json.loads((other / "complete")
                                                             .read_text()), "key": other_key}))
    (other / "bzImage").write_bytes(b"bit rot")
    code, _, err = main(capsys, "cache", "import", carry)
    assert code == 2 and f"corrupt exported build {other_key[:12]}" in err
    with kcache.job_scope():
        assert kcache.lookup(res.key) is None and kcache.lookup(other_key) is None
