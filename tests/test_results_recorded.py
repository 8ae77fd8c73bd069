"""report and compare on real recorded runs (tests/data/runs): the fixture series
v1 (all pass) and v2 with 3 patches (release_ok fails), both run under TCG."""
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import harness
from results.store import load_job

RUNS = Path(__file__).parent / "data" / "runs"


def copy(tmp_path, name):
    dest = tmp_path / name
    shutil.copytree(RUNS / name, dest)
    return dest


def test_report_on_recorded_runs(tmp_path, capsys):
    run = copy(tmp_path, "fixture-v2-upto3")
    assert harness.main(["report", str(run)]) == 0
    out = capsys.readouterr().out
    assert "FAIL: kharness-fixture/release_ok" in out
    row = next(line for line in out.splitlines() if line.startswith("kharness-fixture/"))
    assert row.split()[1:5] == ["test", "2", "1", "0"]
    html = (run / "report.html").read_text()
    assert "release_ok" in html and 'class="fail"' in html
    junit = ET.parse(run / "junit.xml").getroot()
    assert junit.find("testsuite").get("failures") == "1"


def test_compare_recorded_runs(capsys):
    assert harness.main(["compare", str(RUNS / "fixture-v1"), str(RUNS / "fixture-v2-upto3")]) == 1
    out = capsys.readouterr().out
    assert "kharness-fixture/release_ok: pass -> fail" in out and "REGRESSED" in out
    assert harness.main(["compare", str(RUNS / "fixture-v2-upto3"), str(RUNS / "fixture-v1")]) == 0
    assert "fixed (1):" in capsys.readouterr().out


def test_recorded_runs_are_complete_with_reproducers():
    for name in ("fixture-v1", "fixture-v2-upto3"):
        job = load_job(RUNS / name)
        assert job.state == "complete"
        assert [s.name for s in job.stages] == ["apply", "config", "build", "selftests-build",
                                                "boot", "test"]
        assert (RUNS / name / "reproduce.sh").read_text().startswith("#!/usr/bin/env bash")
        assert "6.12.117-kharness" in (RUNS / name / "console.log").read_text(errors="replace")


def test_parse_cli_on_a_recorded_raw_log(capsys):
    raw = next((RUNS / "fixture-v2-upto3" / "suites").rglob("raw/*.log"))
    assert harness.main(["parse", str(raw)]) == 1
    assert "not ok 3 release_ok" in capsys.readouterr().out
    assert harness.main(["parse", "--json", str(RUNS / "fixture-v1" / "results.tap")]) == 0
