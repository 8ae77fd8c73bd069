"""End to end, no mocked stage: the default tree plus the fixture series, the small
profile built with ccache, booted under TCG, the series' KTAP test run over SSH."""
import io
import json
import xml.etree.ElementTree as ET

import pytest

from common.progress import Progress
from common.proc import Runner
from pipeline.job import JobSpec
from pipeline.run import run_job
from pipeline.stages import STAGES
from results.ktap import parse_ktap
from results.store import load_job

pytestmark = pytest.mark.integration


def test_fixture_series_end_to_end(default_tree, small_kernel, tmp_path):
    spec = JobSpec(series="kharness-fixture", rev="v1", profile="small",
                   suites=["kharness-fixture"])
    out = run_job(spec, STAGES, Runner(), Progress(stream=io.StringIO()), tmp_path,
                  run_id="e2e")
    job = load_job(out.path)
    stages = {s.name: s.status for s in job.stages}
    assert out.exit_code == 0, (stages, [s.detail for s in job.stages])
    assert stages["apply"] in ("ok", "cached") and stages["boot"] == "ok"
    statuses = {p: t.status.value for p, t in job.tests()}
    assert statuses["kharness-fixture/release_ok"] == "pass"
    assert statuses["kharness-fixture/tmp_writable"] == "pass"
    tap = parse_ktap((out.path / "results.tap").read_text().splitlines())
    assert [t.name for t in tap.tests] == ["kharness-fixture"] and tap.complete
    junit = ET.parse(out.path / "junit.xml").getroot()
    assert {c.get("name") for c in junit.iter("testcase")} >= {"release_ok", "proc_version"}
    summary = json.loads((out.path / "summary.json").read_text())
    assert summary["state"] == "complete" and summary["counts"]["pass"] >= 3
    manifest = json.loads((out.path / "manifest.json").read_text())
    assert len(manifest["facts"]["apply"]["patches"]) == 2
    assert manifest["facts"]["vm"]["accel"] in ("kvm", "tcg")
    repro = (out.path / "reproduce.sh").read_text()
    assert "./harness.py run kharness-fixture@v1 --profile small --suite kharness-fixture" \
        in repro and "make" in repro
    console = (out.path / "console.log").read_text(errors="replace")
    assert "6.12.117-kharness" in console
