"""Issue 25: Ctrl-C during a matrix with --jobs 2 cancels the parallel VM
workers at once; nothing prints after the table, and the jobs cut off are
recorded incomplete."""
import io
import json
import threading
import time

import pytest

from common.progress import Progress
from common.proc import FakeRunner
from pipeline.context import StageReport
from pipeline.multi import run_matrix
from test_pipeline_multi import specs


def test_ctrl_c_cancels_vm_workers_and_nothing_prints_after_the_table(tmp_path):
    testing = threading.Event()
    stopped = []

    def build(ctx):
        if ctx.spec.series == "b":           # Ctrl-C reaches the main thread here
            assert testing.wait(5)
            time.sleep(0.2)
            raise KeyboardInterrupt
        return StageReport()

    def test(ctx):
        testing.set()
        try:
            for k in range(200):             # a VM test printing steps for 10 s
                ctx.progress.info(f"[test] {ctx.spec.series or 'base'} step {k}")
                time.sleep(0.05)
        except KeyboardInterrupt:
            stopped.append(ctx.spec.series or "base")
            raise
        return StageReport()
    stages = [("apply", lambda c: StageReport()), ("build", build),
              ("boot", lambda c: StageReport()), ("test", test)]
    out = io.StringIO()
    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_matrix(specs()[:3], tmp_path, "c1", FakeRunner(), Progress(stream=out),
                   jobs=2, stages=stages)
    took = time.monotonic() - start
    time.sleep(0.5)                          # a straggler would print now
    text = out.getvalue()
    assert took < 3.0, f"Ctrl-C took {took:.1f}s to return"
    assert sorted(stopped) == ["a", "base"]
    after = text.split("results: ")[-1].splitlines()[1:]
    assert after == [], f"printed after the table: {after[:3]}"
    jobs = json.loads((tmp_path / "c1" / "run.json").read_text())["jobs"]
    assert [j["state"] for j in jobs] == ["incomplete"] * 3
