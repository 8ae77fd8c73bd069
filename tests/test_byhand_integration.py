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
from configs import ConfigResult
from kbuild import BuildRequest
from patches.apply import ApplyResult
from patches.treeimport import tree_repo
from pipeline.byhand import ByHandInputs
from pipeline.job import JobSpec
from pipeline.reproduce import write_reproducer
from pipeline.run import run_job
from pipeline.stages import STAGES
from results.ktap import parse_ktap
from results.store import JobStore, load_job
from selftests.suite import load_suite
from vm.boot import VMRequest
from vm.vng import group_alive

pytestmark = pytest.mark.integration

SUITE = "kharness-fixture"
BYHAND_TIMEOUT = 3600        # a cold small kernel build, a TCG boot and the suite


def verdicts(log: Path) -> dict[str, str]:
    parsed = parse_ktap(log.read_text(errors="replace").splitlines())
    return {path: t.status.value for path, t in parsed.flat()}


def inputs_from(job: Path, spec: JobSpec) -> ByHandInputs:
    """The by-hand inputs of a finished job, from what it recorded (until
    close_job passes its own typed results to write_reproducer)."""
    import json
    apply = ApplyResult.from_dict(json.loads((job / "apply.json").read_text()))
    cfg = job / "config" / "config"
    config = ConfigResult(cfg, cfg, cfg, cfg, "", [], {}, [], [], 0.0)
    build = BuildRequest(tree=apply.worktree, config=cfg, toolchain=spec.toolchain,
                         make_flags=list(spec.make_flags), targets=list(spec.targets))
    suite = load_suite(SUITE)
    manifest = json.loads((job / "manifest.json").read_text())
    vm = VMRequest(kernel=job / "unused", rwdir=job / "guest", console_log=job / "c.log",
                   cpus=suite.cpus, memory=suite.memory, append=list(suite.cmdline))
    return ByHandInputs(spec.label(), apply=apply, config=config, build=build, vm=vm,
                        accel=manifest["facts"]["vm"]["accel"], suites=[suite])


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

    store = JobStore(out.path, "byhand")
    script = write_reproducer(store, spec, None, inputs_from(out.path, spec))
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
