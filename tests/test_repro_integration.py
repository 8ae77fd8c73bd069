"""Reproduce the robot's kernel-doc report on the path-iterator v5 port (x86_64 with
the host gcc as asked by --arch, instead of loongarch64-linux-gcc 12.4.0), and show
that v5.1 fixes it."""
import json
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.integration
REPORT = Path(__file__).parent / "data" / "reports" / "path-iter-v5-kerneldoc.eml"


def _verdict(results: Path) -> dict:
    (path,) = list(results.rglob("repro/verdict.json"))
    return json.loads(path.read_text())


def test_kerneldoc_report_reproduces_on_v5_and_not_on_v51(default_tree, tmp_path, capsys):
    rc = harness.main(["repro", str(REPORT), "--profile", "small", "--arch", "x86_64",
                       "--results", str(tmp_path / "v5")])
    out = capsys.readouterr().out
    assert rc == 0, out
    v = _verdict(tmp_path / "v5")
    assert v["verdict"] == "reproduced" and len(v["matched"]) == 3
    assert any("loongarch64-linux-gcc 12.4.0 is not installed" in n for n in v["notes"])
    assert any("ARCH=x86_64 instead of the report's loongarch" in n for n in v["notes"])
    assert any("using profile 'small'" in n for n in v["notes"])
    trailers = next((tmp_path / "v5").rglob("repro/trailers.txt")).read_text()
    assert "Closes: https://lore.kernel.org/oe-kbuild-all/202506180814.GoByWn1r-lkp@intel.com/" \
        in trailers

    rc = harness.main(["repro", str(REPORT), "--profile", "small", "--arch", "x86_64",
                       "--against",
                       "path-iterator@v5.1-6.12", "--results", str(tmp_path / "v51")])
    assert rc == 1
    v = _verdict(tmp_path / "v51")
    assert v["verdict"] == "not reproduced" and len(v["missing"]) == 3
