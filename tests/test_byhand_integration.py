"""`reproduce.sh --by-hand` really reproduces a job: the fixture series' v2 (its
patch 3 breaks release_ok) on the small profile under TCG, first with the harness,
then with the by-hand script alone (its own worktree, git am, .config, make, vng,
ssh), and both must give the same KTAP verdicts for every subtest."""
from __future__ import annotations

import io
import os
import signal
import subprocess
from pathlib import Path

import pytest

from common.progress import Progress
from common.proc import Runner
from patches.treeimport import tree_repo
from pipeline.job import JobSpec
from pipeline.run import run_job
from pipeline.stages import STAGES
from results.ktap import parse_ktap
from results.store import load_job
from vm.vng import group_alive

pytestmark = pytest.mark.integration

SUITE = "kharness-fixture"
BYHAND_TIMEOUT = 3600        # a cold small kernel build, a TCG boot and the suite


def verdicts(log: Path) -> dict[str, str]:
    parsed = parse_ktap(log.read_text(errors="replace").splitlines())
    return {path: t.status.value for path, t in parsed.flat()}


def run_byhand(script: Path, work: Path, log: Path) -> int:
    """Run it like a user would; on a timeout stop it and any VM it left."""
    with open(log, "w") as out:
        proc = subprocess.Popen(["bash", str(script), "--by-hand", str(work)], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            return proc.wait(timeout=BYHAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
            raise
        finally:
            _no_vm_left(work / "out" / "vng.pid")


def _no_vm_left(pidfile: Path) -> None:
    if pidfile.is_file():
        pgid = int(pidfile.read_text())
        if group_alive(pgid):
            os.killpg(pgid, signal.SIGKILL)
        assert not group_alive(pgid)


def test_by_hand_gets_the_harness_verdicts(default_tree, tmp_path):
    spec = JobSpec(series="kharness-fixture", rev="v2", profile="small", suites=[SUITE],
                   accel="tcg")
    out = run_job(spec, STAGES, Runner(), Progress(stream=io.StringIO()), tmp_path / "res",
                  run_id="byhand")
    job = load_job(out.path)
    assert out.exit_code == 1, [(s.name, s.status, s.detail) for s in job.stages]
    raw = sorted((out.path / "suites" / SUITE / "raw").glob("*.log"))
    harness = verdicts(raw[0])
    assert harness["release_ok"] == "fail" and harness["proc_version"] == "pass"

    script = out.path / "reproduce.sh"          # the job's own, as a user finds it
    work, log = tmp_path / "byhand", tmp_path / "byhand.log"
    try:
        rc = run_byhand(script, work, log)
    finally:           # the by-hand worktree hangs off the harness's tree repo
        subprocess.run(["git", "-C", str(tree_repo("debian-6.12")), "worktree", "remove",
                        "--force", str(work / "linux")], capture_output=True)
    text = log.read_text(errors="replace")
    assert rc == 0, text[-3000:]
    assert "the same commits as the job" in text and ".config: as the job verified it" in text
    by_hand = verdicts(work / "out" / SUITE / f"001-{SUITE}.log")
    assert by_hand == harness
    assert "-kharness" in (work / "out" / "console.log").read_text(errors="replace")
