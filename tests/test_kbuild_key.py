"""The build key: what changes it and what does not."""
import shutil

import pytest

from kbuild.build import BuildRequest, compute_key
from kbuild.toolchain import toolchain

from test_kbuild_fakes import CONFIG, make_tree, runner


@pytest.fixture
def tree(tmp_path):
    return make_tree(tmp_path)


def key(tree, fr=None, config=CONFIG, tc="gcc", **kw):
    req = BuildRequest(tree=tree, config=tree / "unused", **kw)
    return compute_key(req, fr or runner(), toolchain(tc), config)


def test_same_inputs_same_key_whatever_path_jobs_nice_ccache(tree, tmp_path):
    k = key(tree)
    other = tmp_path / "other-worktree"
    shutil.copytree(tree, other)
    assert key(other) == k
    assert key(tree, jobs=16, nice=False, ccache=False, results_dir=tmp_path / "r") == k
    assert len(k) == 64


@pytest.mark.parametrize("change", [
    dict(config=CONFIG + "CONFIG_NET=y\n"),
    dict(fr=runner(head="b" * 40)),
    dict(fr=runner(dirty="diff --git a/fs/namei.c b/fs/namei.c\n")),
    dict(fr=runner(gcc="gcc (Debian 13.1.0) 13.1.0")),
    dict(w1=True),
    dict(sparse=True),
    dict(targets=["fs/namei.o"]),
    dict(tc="llvm-19"),
    dict(arch="i386"),
])
def test_each_input_changes_the_key(tree, change):
    assert key(tree, **change) != key(tree)


def test_kernel_key_ignores_selftests_changes(tree):
    fr = runner()
    key(tree, fr=fr)
    status = next(c["argv"] for c in fr.calls if "status" in c["argv"])
    assert ":(exclude)tools/testing/selftests" in status
    assert "--untracked-files=no" in status
