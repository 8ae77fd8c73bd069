"""A runtime robot report end to end under TCG: kharness-fixture v6 WARNs at every
boot (a late initcall); its boot report (testcase: boot, the splat as the robot's
dmesg shows it) boots the kernel with the tap-smoke check on a VM of the report's
test machine (-smp 1 -m 512M) and reproduces with the same splat fingerprint (the
report's and the local one side by side); against v7, which drops the warning, the
verdict is 'not reproduced'."""
import json
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.integration
REPORT = Path(__file__).parent / "data" / "reports" / "runtime-fixture-boot-warn.txt"
ARGS = ["--profile", "small", "--fragment", "kallsyms"]   # the robot's kernel has symbols


def verdict(results: Path) -> dict:
    return json.loads(next(results.rglob("repro/verdict.json")).read_text())


def test_boot_warn_report_reproduces_and_v7_clears_it(default_tree, tmp_path, capsys):
    code = harness.main(["repro", str(REPORT), *ARGS, "--results", str(tmp_path / "v6")])
    out = capsys.readouterr().out
    assert code == 0, out
    v = verdict(tmp_path / "v6")
    assert v["verdict"] == "reproduced"
    (splat,) = v["splats"]
    assert splat["reported"]["fingerprint"] == splat["seen"]["fingerprint"]
    assert splat["seen"]["fingerprint"].startswith("bb417986ca9b")
    assert "matched splat: warning: kernel/time/time.c kharness_fixture_warn\n" \
           "    report [bb417986ca9b]  local [bb417986ca9b]  (same fingerprint)" in out
    suite = json.loads(next((tmp_path / "v6").rglob("repro/plan.json")).read_text())["suite_doc"]
    assert (suite["name"], suite["vm"]) == ("repro-boot", {"cpus": 1, "memory": "512M"})
    summary = json.loads(next((tmp_path / "v6").rglob("summary.json")).read_text())
    assert [s["name"] for s in summary["suites"]] == ["repro-boot"]
    code = harness.main(["repro", str(REPORT), *ARGS, "--against", "kharness-fixture@v7",
                         "--results", str(tmp_path / "v7")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert verdict(tmp_path / "v7")["verdict"] == "not reproduced"
    assert "not seen: warning: kernel/time/time.c kharness_fixture_warn\n" \
           "    report [bb417986ca9b]  local -" in out
