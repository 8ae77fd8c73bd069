"""A suite whose log gave no results, or an incomplete log, never passes: through
`harness.py run` (the test stage parses the log as selftests/run.py does) the job
exits 1 with an ERROR verdict `<suite>/results`, also in summary.json."""
import json

import pytest

import harness
from pipeline.context import StageReport
from selftests.run import parse_group_log


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def run_with_log(results, monkeypatch, fmt, text):
    import pipeline.stages

    def test_stage(ctx):
        ctx.store.add_suite("smoke", parse_group_log(fmt, text.splitlines()))
        return StageReport()
    monkeypatch.setattr(pipeline.stages, "STAGES", [("test", test_stage)])
    code = harness.main(["run", "--base-only", "--profile", "small", "--results", str(results)])
    return code, json.loads(next(results.rglob("summary.json")).read_text())


@pytest.mark.parametrize("fmt,text,why", [
    ("test_progs", "", "no results"),
    ("ktap", "random console noise\n", "no results"),
    ("ktap", "KTAP version 1\n1..2\nok 1 a\nok 2 b\nBail out! guest died\n", "incomplete log"),
    ("test_progs", "#1      a:OK\n#2      b:OK\n", "incomplete log"),
], ids=["empty", "unparsable", "bail-out", "no-summary"])
def test_a_suite_without_complete_results_fails_the_job(results, monkeypatch, fmt, text, why):
    code, summary = run_with_log(results, monkeypatch, fmt, text)
    assert code == 1 and summary["exit_code"] == 1
    assert summary["failing"] == ["smoke/results"]
    assert summary["counts"].get("error") == 1


def test_a_complete_passing_log_still_passes(results, monkeypatch):
    code, summary = run_with_log(results, monkeypatch, "test_progs",
                                 "#1      a:OK\nSummary: 1/0 PASSED, 0 SKIPPED, 0 FAILED\n")
    assert code == 0 and summary["failing"] == []


def test_a_truncated_log_counts_its_missing_test_once(results, monkeypatch):
    code, summary = run_with_log(results, monkeypatch, "ktap", "KTAP version 1\n1..2\nok 1 a\n")
    assert code == 1 and summary["failing"] == ["smoke/test 2"]
