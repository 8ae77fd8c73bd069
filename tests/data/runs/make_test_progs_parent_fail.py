"""Write the job dir test_progs-parent-fail/ (summary.json, parsed/) from its raw
logs and dmesg.txt, the way the pipeline's test stage records a job: each raw
log is one test_progs group parsed by results.test_progs, the splats of the
dmesg read after the second group belong to the test that group ran.

    .venv/bin/python tests/data/runs/make_test_progs_parent_fail.py
"""
import json
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from common.stage import StageResult  # noqa: E402
from results.model import ParsedLog  # noqa: E402
from results.splat import find_splats  # noqa: E402
from results.store import GroupTiming, JobStore  # noqa: E402
from results.test_progs import parse_test_progs  # noqa: E402

JOB = HERE / "test_progs-parent-fail"
# (raw log, the test the group ran, seconds the harness measured for it)
GROUPS = [("001-align.log", "align", 2.412), ("002-task_local_storage.log",
                                              "task_local_storage", 7.905),
          ("003-d_path.log", "d_path", 3.118)]
STAGES = [("apply", 0.7), ("config", 31.2), ("build", 402.5), ("selftests-build", 388.0),
          ("boot", 37.9), ("test", 15.8)]


def suite() -> tuple[ParsedLog, list[GroupTiming]]:
    parsed, groups = ParsedLog("test_progs"), []
    for log, test, took in GROUPS:
        raw = (JOB / "suites" / "test_progs" / "raw" / log).read_text().splitlines()
        part = parse_test_progs(raw)
        parsed.tests += part.tests
        parsed.notes += [f"{test}: {n}" for n in part.notes]
        groups.append(GroupTiming(test, took, [t.name for t in part.tests]))
        if test == "task_local_storage":
            splats = find_splats((JOB / "dmesg.txt").read_text().splitlines())
            for sp in splats:
                sp.test = test
            parsed.splats += splats
    return parsed, groups


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = JobStore.create(Path(tmp), "r", ["base", "debian-6.12", "bpf-gcc-test_progs"])
        for name, took in STAGES:
            store.record_stage(StageResult(name, "ok", took))
        parsed, groups = suite()
        raw = ",".join(f"suites/test_progs/raw/{g[0]}" for g in GROUPS)
        store.add_suite("test_progs", parsed, raw=raw, groups=groups)
        store.finish(1)
        summary = json.loads((store.path / "summary.json").read_text())
        summary.update(started="2026-11-24T09:00:00+00:00", ended="2026-11-24T09:14:38+00:00")
        (JOB / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
        shutil.copytree(store.path / "parsed", JOB / "parsed", dirs_exist_ok=True)


if __name__ == "__main__":
    main()
