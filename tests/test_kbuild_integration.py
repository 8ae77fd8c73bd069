"""Integration: config + build of the `small` profile from the default tree,
then the same request again, which must be a cache hit taking seconds."""
import time

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
