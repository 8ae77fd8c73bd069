"""Measurement 8: the flaky-bisect simulation over the pure cores, on few trials."""
import io
import json
import random

from bench.context import Steps
from bench.m_flaky import Flaky, figures, simulate, table, trial
from bench.run import BenchRequest, parse_only, run_bench
from common.proc import FakeRunner


def test_a_deterministic_criterion_is_always_found():
    for strategy, runs in (("1 run", None), ("10 runs", None), ("adaptive", 6.0)):
        o = simulate(strategy, 1.0, 0.0, trials=40)
        assert o.accuracy == 1.0
        if runs is not None:
            assert o.mean_runs == runs          # 64 candidates: 6 halvings, no end checks
    assert simulate("1 run", 1.0, 0.0, trials=40).mean_runs == 8.0      # 2 ends + 6
    assert simulate("10 runs", 1.0, 0.0, trials=40).mean_runs == 80.0


def test_seeded_trials_repeat_exactly():
    a, b = simulate("adaptive", 0.5, 0.05, trials=30), simulate("adaptive", 0.5, 0.05, trials=30)
    assert (a.right, a.runs) == (b.right, b.runs)


def test_the_ten_runs_rule_counts_its_end_checks_and_early_stops():
    crit = Flaky(random.Random(1), 5, 1.0, 0.0)
    right, count = trial("10 runs", crit, 9)
    # steps 8 (bad), 0 (good), 4 (good), 6 (bad), 5 (bad): 10 runs each
    assert right and crit.runs == 50 and count["ends"] == 20
    assert count["saved"] == 3 * 9          # each bad step failed on its first run


def test_false_failures_mislead_the_ten_runs_rule_more_than_the_adaptive_search():
    rule = simulate("10 runs", 0.5, 0.05, trials=60)
    adaptive = simulate("adaptive", 0.5, 0.05, trials=60)
    assert adaptive.accuracy > 0.8 > rule.accuracy


def test_figures_check_the_targets():
    outs = [simulate(s, p, 0.0, trials=60) for p in (1.0, 0.3)
            for s in ("1 run", "10 runs", "adaptive")]
    acc, runs = figures(outs, 60)
    assert (acc.id, runs.id) == ("8a", "8b")
    assert acc.target.value == 0.95 and runs.target.value == 0.5
    assert runs.value < 0.5 and runs.verdict() == "met"
    assert acc.verdict() in ("met", "MISSED")
    assert acc.met == (acc.value >= 0.95)
    lines = table(outs).splitlines()
    assert lines[0].startswith("| p | q | 1 run: accuracy") and len(lines) == 4
    assert lines[2].startswith("| 1 | 0 | 100.0% | 8.0 | 100.0% | 80.0 | 100.0% | 6.0 |")


def test_measurement_8_runs_alone(tmp_path, monkeypatch):
    import bench.run
    monkeypatch.setattr(bench.run, "measure_flaky",
                        lambda: figures([simulate(s, p, 0.0, trials=20) for p in (0.3,)
                                         for s in ("1 run", "10 runs", "adaptive")], 20))
    out = io.StringIO()
    req = BenchRequest(only=parse_only("8"), out=tmp_path / "out",
                       json_path=tmp_path / "r.json", md_path=tmp_path / "r.md")
    res = run_bench(req, FakeRunner().on("rev-parse", stdout="abc123\n"), Steps(out))
    assert [f.id for f in res.figures] == ["8a", "8b"]
    assert "| 0.3 | 0 |" in out.getvalue()
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["figures"][1]["target"] == {"op": "<=", "value": 0.5}
