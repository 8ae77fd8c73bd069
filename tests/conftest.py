"""Shared fixtures for the integration tests: the real default tree and a small
kernel built from it by the harness's own stages (cached across runs by key)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from common.proc import Runner

DEFAULT_TREE = "debian-6.12"


@pytest.fixture(scope="session", autouse=True)
def _durations_apart(tmp_path_factory):
    """Stage durations the tests record (common.progress.Durations) stay out of the
    real cache, where they would feed the ETAs of real runs."""
    os.environ["KHARNESS_DURATIONS"] = str(tmp_path_factory.mktemp("durations") /
                                           "durations.json")


@pytest.fixture(scope="session", autouse=True)
def _cache_left_alone():
    """`make check` never evicts what the user's cache holds: the jobs the tests run
    keep the cache within a size no machine reaches (the cache gc tests set their
    own limits, on caches of their own)."""
    from kbuild.cache import MAX_SIZE_VAR
    old = os.environ.get(MAX_SIZE_VAR)
    os.environ[MAX_SIZE_VAR] = "1000T"
    yield
    if old is None:
        os.environ.pop(MAX_SIZE_VAR, None)
    else:
        os.environ[MAX_SIZE_VAR] = old


@pytest.fixture(scope="session")
def runner():
    return Runner(verbose=bool(os.environ.get("KHARNESS_TEST_VERBOSE")))


@pytest.fixture(scope="session")
def default_tree(runner) -> Path:
    """A worktree of Debian's linux-source-6.12 with the tree's fix-ups applied
    (imported with apt-get download the first time; a no-op afterwards). The session
    holds it as a job would (its use lock), so no job's `cache gc` removes it."""
    import contextlib
    from patches.apply import apply_base
    from patches.treeimport import ImportRequest, import_tree
    import_tree(ImportRequest(source=DEFAULT_TREE), runner)
    with contextlib.ExitStack() as stack:
        yield Path(apply_base(DEFAULT_TREE, runner, hold=stack).worktree)


@pytest.fixture(scope="session")
def small_kernel(default_tree, runner, tmp_path_factory) -> Path:
    """bzImage of the `small` profile (tinyconfig + vm-min) of the default tree."""
    from configs import ConfigRequest, make_config
    from kbuild import BuildRequest, build_kernel
    from common.fsutil import cache_dir
    out = tmp_path_factory.mktemp("small-kernel")
    cfg = make_config(ConfigRequest(tree=default_tree, build_dir=cache_dir() / "kconfig" /
                                    DEFAULT_TREE / "small-gcc", results_dir=out / "config",
                                    profile="small"), runner)
    res = build_kernel(BuildRequest(tree=default_tree, config=cfg.config, results_dir=out,
                                    tree_name=DEFAULT_TREE, config_family="small"), runner)
    return Path(res.bzimage)
