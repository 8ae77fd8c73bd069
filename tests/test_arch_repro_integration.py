"""A robot report for another arch, reproduced with Debian's cross compiler: the
fixture's v4 patch 3 warns only in arch/arm64/kernel/time.c. `repro` builds just that
object for arm64 (defconfig, as a stated substitution for the robot's config) and
finds the warning; against v5, which drops it, the verdict is 'not reproduced'."""
import json
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.integration
REPORT = Path(__file__).parent / "data" / "reports" / "arm64-gcc-fixture.txt"


def verdict(results: Path) -> dict:
    return json.loads(next(results.rglob("repro/verdict.json")).read_text())


def test_arm64_report_reproduces_and_v5_clears_it(default_tree, tmp_path, capsys):
    code = harness.main(["repro", str(REPORT), "--results", str(tmp_path / "v4")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert verdict(tmp_path / "v4")["verdict"] == "reproduced"
    assert "kharness_arm64_unused" in out and "aarch64-linux-gnu-gcc-12" in out
    manifest = json.loads(next((tmp_path / "v4").rglob("manifest.json")).read_text())
    assert manifest["job"]["arch"] == "arm64" and manifest["job"]["targets"] == [
        "arch/arm64/kernel/time.o"]
    code = harness.main(["repro", str(REPORT), "--against", "kharness-fixture@v5",
                         "--results", str(tmp_path / "v5")])
    assert code == 1, capsys.readouterr().out
    assert verdict(tmp_path / "v5")["verdict"] == "not reproduced"
