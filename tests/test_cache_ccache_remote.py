"""The shared compiler cache: --ccache-remote / KHARNESS_CCACHE_REMOTE reaches every
compile's environment, is recorded, and never changes a build key. The contract is
shown for real: a redis-server on a loopback port, two machines' own CCACHE_DIRs,
the second compiling the same file gets a remote hit."""
import json

import pytest

import harness
from common.errors import UsageError
from common.localredis import redis_server
from common.proc import Runner
from kbuild import build_kernel
from kbuild.build import CCACHE_REMOTE_VAR, build_env, check_ccache_remote, redact_remote

from test_kbuild_build import config, req, tree  # noqa: F401 - fixtures
from test_kbuild_fakes import make_calls, runner


@pytest.fixture(autouse=True)
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv(CCACHE_REMOTE_VAR, "")     # restored (unset) after each test
    return tmp_path / "cache"


def test_remote_reaches_the_kernel_compile_and_keeps_the_key(tree, config, monkeypatch,  # noqa: F811
                                                             tmp_path):
    plain = build_kernel(req(tree, config, use_cache=False), fr := runner())
    assert "CCACHE_REMOTE_STORAGE" not in make_calls(fr)[0]["env"]
    monkeypatch.setenv(CCACHE_REMOTE_VAR, "redis://bob:secret@10.0.0.1:6379")
    shared = build_kernel(req(tree, config, use_cache=False), fr := runner())
    assert make_calls(fr)[0]["env"]["CCACHE_REMOTE_STORAGE"] == \
        "redis://bob:secret@10.0.0.1:6379"
    assert shared.key == plain.key                          # not a build input
    meta = json.loads((shared.artifacts_dir / "complete").read_text())
    assert meta["ccache_remote"] == "redis://bob:***@10.0.0.1:6379"


def test_selftests_env_gets_the_remote_too(monkeypatch, tmp_path):
    monkeypatch.setenv(CCACHE_REMOTE_VAR, "file:/srv/ccache")
    assert build_env(tmp_path, False)["CCACHE_REMOTE_STORAGE"] == "file:/srv/ccache"


@pytest.mark.parametrize("url", ["ftp://x", "redis:/", "127.0.0.1:6379", "https://c/x"])
def test_bad_remote_is_a_usage_error(url):
    with pytest.raises(UsageError, match="bad ccache remote"):
        check_ccache_remote(url)


def test_bad_remote_on_the_cli_exits_2(capsys):
    code = harness.main(["run", "kharness-fixture@v1", "--profile", "small", "--check",
                         "--ccache-remote", "ftp://cache"])
    assert code == 2 and "bad ccache remote 'ftp://cache' (from --ccache-remote)" in \
        capsys.readouterr().err


def test_redact():
    assert redact_remote("redis://127.0.0.1:1") == "redis://127.0.0.1:1"
    assert redact_remote("http://u:p@h/x") == "http://u:***@h/x"
    assert redact_remote(None) is None


# --- the real shared cache -----------------------------------------------------------

@pytest.fixture
def redis_url(tmp_path):
    with redis_server(tmp_path / "redis") as url:
        yield url


def _stats(env) -> dict:
    res = Runner().run(["ccache", "--print-stats"], env=env, timeout=30, check=True)
    return {k: int(v) for k, v in (ln.split("\t") for ln in res.stdout.splitlines() if "\t" in ln)}


def test_two_machines_share_objects_through_redis(redis_url, tmp_path, monkeypatch):
    """Machine A compiles and fills redis; machine B, with its own empty CCACHE_DIR
    (its own HARNESS_CACHE) and its own checkout path, gets a remote hit."""
    monkeypatch.setenv(CCACHE_REMOTE_VAR, redis_url)
    src = "int shared(int x) { return x * 7 + 3; }\n"
    results = {}
    for machine in ("a", "b"):
        monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / machine / "cache"))
        tree = tmp_path / machine / "linux"
        tree.mkdir(parents=True)
        (tree / "f.c").write_text(src)
        env = build_env(tree, True)
        assert env["CCACHE_REMOTE_STORAGE"] == redis_url
        assert env["CCACHE_DIR"] == str(tmp_path / machine / "cache" / "ccache")
        Runner().run(["ccache", "gcc", "-O2", "-c", "f.c", "-o", "f.o"], cwd=tree, env=env,
                     timeout=60, check=True)
        results[machine] = _stats(env)
    a, b = results["a"], results["b"]
    assert a.get("remote_storage_hit", 0) == 0 and a.get("remote_storage_miss", 0) >= 1
    assert b["local_storage_miss"] == 1 and b["local_storage_hit"] == 0 and b.get("remote_storage_hit", 0) >= 1
    assert b.get("direct_cache_hit", 0) + b.get("preprocessed_cache_hit", 0) >= 1
