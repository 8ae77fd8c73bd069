"""Integration: config + build of the `small` profile from the default tree,
then the same request again, which must be a cache hit taking seconds."""
import time
from pathlib import Path

import pytest

from common.proc import Runner
from configs import ConfigRequest, make_config
from kbuild import BuildRequest, build_kernel


@pytest.mark.integration
def test_small_profile_builds_then_hits_the_cache(default_tree, tmp_path):
    runner = Runner()
    cfg = make_config(ConfigRequest(tree=default_tree, build_dir=tmp_path / "cfg",
                                    results_dir=tmp_path / "res", profile="small"), runner)
    assert cfg.failed == [] and cfg.config.is_file()
    req = BuildRequest(tree=default_tree, config=cfg.config, config_family="small", jobs=2,
                       results_dir=tmp_path / "res")
    first = build_kernel(req, runner)
    data = first.bzimage.read_bytes()
    assert len(data) > 500_000 and data[0x202:0x206] == b"HdrS"     # x86 boot header
    assert (first.artifacts_dir / "complete").is_file()
    assert (first.artifacts_dir / "System.map").stat().st_size > 0
    assert (tmp_path / "res" / "warnings.txt").is_file()
    t = time.monotonic()
    second = build_kernel(req, runner)
    took = time.monotonic() - t
    assert second.cached and second.key == first.key and took < 30
    assert second.bzimage.read_bytes() == data


@pytest.mark.integration
def test_fixture_v3_new_warning_is_kept_by_the_record(default_tree, runner, tmp_path):
    """kharness-fixture@v3 patch 3 adds -Wunused-variable in kernel/time/timeconv.c.
    Against the base build it is the one new warning; the build of patch 4 does not
    recompile timeconv.o and still lists it (the build dir's warning record)."""
    from conftest import DEFAULT_TREE
    from patches.apply import ApplyRequest, apply_series
    from common.fsutil import cache_dir

    def build(tree, out, base=None, use_cache=True):
        cfg = make_config(ConfigRequest(tree=tree, build_dir=cache_dir() / "kconfig" /
                                        DEFAULT_TREE / "small-gcc", results_dir=out / "config",
                                        profile="small"), runner)
        return build_kernel(BuildRequest(tree=tree, config=cfg.config, tree_name=DEFAULT_TREE,
                                         config_family="small", jobs=2, base_warnings=base,
                                         results_dir=out / "build", use_cache=use_cache), runner)
    base = build(default_tree, tmp_path / "base")
    want = "kernel/time/timeconv.c:54:13: warning: unused variable ‘kharness_unused’"  # gcc's quotes
    assert not any(w.text().startswith(want) for w in base.warnings)
    p3 = apply_series(ApplyRequest("kharness-fixture", "v3", upto=3), runner)
    # p3 and p4 build in the family dir for real: a cache hit of p3 would leave the
    # dir as an earlier test left it (another .config), and one of p4 shows the
    # stored log of an earlier build, so neither would say what this build remade
    step3 = build(Path(p3.worktree), tmp_path / "p3", base=tmp_path / "base", use_cache=False)
    assert [w.text() for w in step3.new_warnings] == [want + " [-Wunused-variable]"]
    assert step3.new_warnings[0].function == "time64_to_tm"
    assert f">> {want}" in (tmp_path / "p3/build/warnings.txt").read_text()
    p4 = apply_series(ApplyRequest("kharness-fixture", "v3"), runner)
    step4 = build(Path(p4.worktree), tmp_path / "p4", base=tmp_path / "base", use_cache=False)
    log = step4.log.read_text()
    assert "CC      kernel/time/time.o" in log and "kernel/time/timeconv.o" not in log
    assert [w.text() for w in step4.new_warnings] == [want + " [-Wunused-variable]"]
    assert log.count("  CC  ") < 40          # incremental: the record forgot no objects
