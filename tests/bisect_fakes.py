"""The fake pipelines of the bisect unit tests (test_bisect_*.py): no kernel is built
or booted. FakePipeline is a run_spec for the drivers; fake_stages replaces the
pipeline's stages for tests through harness.main."""
from __future__ import annotations

import pytest

from common.stage import StageResult
from pipeline.job import JobSpec
from pipeline.run import JobOutcome
from results.model import ParsedLog, Status, TestResult
from results.store import JobStore


class FakePipeline:
    """A job dir per call whose outcome is `script(spec, n)`, n counting the calls of
    that (series, rev, upto, skip): pass or fail (kernel_facts/release_ok), or
    apply-fails, build-fails (the test never runs)."""

    def __init__(self, tmp_path, script):
        self.tmp, self.script, self.seen, self.calls = tmp_path, script, {}, []

    def __call__(self, spec: JobSpec):
        key = (spec.series, spec.rev, spec.upto, spec.skip)
        self.seen[key] = self.seen.get(key, 0) + 1
        self.calls.append(spec.upto if spec.series else 0)
        status = self.script(spec, self.seen[key])
        store = JobStore.create(self.tmp, f"r{len(self.calls)}", ["j"])
        store.record_stage(StageResult("apply", "failed" if status == "apply-fails" else "ok"))
        if status != "apply-fails":
            store.record_stage(StageResult("build", "failed" if status == "build-fails"
                                           else "ok", 2.0))
        if status in ("pass", "fail"):
            store.record_stage(StageResult("test", "ok"))
            t = TestResult("kernel_facts", Status.PASS,
                           subtests=[TestResult("release_ok", Status(status))])
            store.add_suite("kharness-fixture", ParsedLog("ktap", [t]))
        store.finish(0)
        return JobOutcome(spec, 0, store.summary(), store.path)


@pytest.fixture
def bisect_results(tmp_path, monkeypatch):
    """The results root of a harness.main bisect."""
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))
    return tmp_path / "results"


def fake_stages(monkeypatch, bad, apply_fails=lambda spec: False):
    """The pipeline's stages become apply and build; the build fails (a `build`
    criterion's bad) when bad(spec), the apply when apply_fails(spec)."""
    import pipeline.stages
    from common.errors import ApplyError, BuildError
    from pipeline.context import StageReport

    def apply(ctx):
        if apply_fails(ctx.spec):
            raise ApplyError("the patch does not apply")
        return StageReport("ok")

    def build(ctx):
        if bad(ctx.spec):
            raise BuildError("the build breaks")
        return StageReport("built")
    monkeypatch.setattr(pipeline.stages, "STAGES", [("apply", apply), ("build", build)])
