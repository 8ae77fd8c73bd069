"""The shipped engine files: GitHub Actions workflows pass actionlint, the Kubernetes
manifests validate against the Kubernetes schema, and both follow the harness's
shard contract (the plan's keys, --shard, merge)."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import harness
from common.fsutil import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
K8S = REPO_ROOT / "deploy" / "k8s"
MANIFESTS = sorted(K8S.glob("*.yaml"))
K8S_VERSION = "1.33.0"          # backoffLimitPerIndex is GA from 1.33


def actionlint() -> str:
    exe = shutil.which("actionlint", path=str(REPO_ROOT / ".venv" / "bin"))
    assert exe, "actionlint is missing from .venv: run `make setup` (requirements.txt pins it)"
    return exe


def test_there_are_engine_files():
    names = {p.name for p in WORKFLOWS}
    assert {"kharness-shards.yml", "kharness-example.yml"} <= names
    assert {"shards-job.yaml", "merge-job.yaml", "redis.yaml", "results-pvc.yaml"} <= \
        {p.name for p in MANIFESTS}
    assert (K8S / "Dockerfile").is_file() and (K8S / "README.md").is_file()


def test_workflows_pass_actionlint():
    res = subprocess.run([actionlint(), "-no-color", *map(str, WORKFLOWS)], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The check can fail: the shard workflow with a matrix key the plan never gives."""
    text = (REPO_ROOT / ".github/workflows/kharness-shards.yml").read_text()
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(text.replace("needs.plan.outputs.matrix", "needs.plann.outputs.matrix"))
    res = subprocess.run([actionlint(), "-no-color", str(bad)], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 1 and "plann" in res.stdout


def _workflow():
    return yaml.safe_load((REPO_ROOT / ".github/workflows/kharness-shards.yml").read_text())


def test_workflow_follows_the_shard_contract(capsys):
    wf = _workflow()
    jobs = wf["jobs"]
    assert "workflow_call" in wf[True]                       # `on:` parses as True
    plan_run = " ".join(s.get("run", "") for s in jobs["plan"]["steps"])
    assert "--plan --format github" in plan_run and "GITHUB_OUTPUT" in plan_run
    shard = jobs["shard"]
    assert shard["strategy"]["fail-fast"] is False
    assert shard["strategy"]["matrix"] == "${{ fromJSON(needs.plan.outputs.matrix) }}"
    steps = shard["steps"]
    runs = " ".join(s.get("run", "") for s in steps)
    assert "make setup" in runs and '--shard "$SHARD"' in runs and "/dev/kvm" in runs
    caches = [s["with"] for s in steps if s.get("uses", "").startswith("actions/cache@")]
    # every matrix value the workflow reads is one the plan's github format gives
    code = harness.main(["matrix", "pipeline/matrices/default.yaml", "--plan", "--format",
                         "github", "--shards", "2"])
    inc = json.loads(capsys.readouterr().out)["include"]
    assert code == 0
    used = {w.split("matrix.")[1].split()[0] for c in caches for w in c.values()
            if "matrix." in w}
    used |= {"shard", "index"}
    assert used == {"ccache_key", "ccache_restore", "builds_key", "builds_restore", "shard",
                    "index"} and all(used <= set(x) for x in inc)
    assert {c["path"].rsplit("/", 1)[1] for c in caches} == {"ccache", "artifacts"}
    merge = jobs["merge"]
    mruns = " ".join(s.get("run", "") for s in merge["steps"])
    assert "harness.py merge" in mruns and 'exit 1' in mruns
    uses = [s.get("uses", "") for s in merge["steps"]]
    assert any(u.startswith("actions/download-artifact@") for u in uses)
    assert any("junit" in u for u in uses)
    assert any(s.get("uses", "").startswith("actions/upload-artifact@") for s in steps)


def _docs(path: Path) -> list[dict]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifests_validate_against_the_kubernetes_schema(path):
    import kubernetes_validate
    for doc in _docs(path):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_the_validation_can_fail():
    import kubernetes_validate
    (job,) = _docs(K8S / "shards-job.yaml")
    job["spec"]["backoffLimitPerIndx"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, K8S_VERSION, strict=True)


def test_indexed_job_follows_the_shard_contract(capsys):
    (job,) = _docs(K8S / "shards-job.yaml")
    spec = job["spec"]
    assert spec["completionMode"] == "Indexed" and spec["backoffLimitPerIndex"] >= 0
    (c,) = spec["template"]["spec"]["containers"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert c["args"][:4] == ["matrix", "pipeline/matrices/default.yaml", "--shard", "auto"]
    assert env["KHARNESS_CCACHE_REMOTE"].startswith("redis://kharness-ccache")
    code = harness.main(["matrix", "pipeline/matrices/default.yaml", "--plan", "--format",
                         "k8s", "--shards", env["KHARNESS_SHARDS"]])
    k = json.loads(capsys.readouterr().out)
    assert code == 0 and k["completions"] == spec["completions"] == int(env["KHARNESS_SHARDS"])
    (svc,) = [d for d in _docs(K8S / "redis.yaml") if d["kind"] == "Service"]
    assert svc["metadata"]["name"] == "kharness-ccache"
    assert svc["spec"]["ports"][0]["port"] == 6379
    docker = (K8S / "Dockerfile").read_text()
    assert "FROM debian:12" in docker and "scripts/setup.sh" in docker


def test_merge_job_script_merges_the_newest_run_of_each_shard(tmp_path, capsys):
    """The merge Job's shell, run for real over a results volume laid out as the
    Indexed Job leaves it (shard 1 retried once: its newer run dir is the one merged)."""
    from tests.test_shard_merge import run_shard
    run = tmp_path / "results" / "run-1"
    for i in (1, 2):
        run_shard(run / f"shard-{i - 1}", i, 2, name=f"20260101-000000-default-shard{i}of2")
    run_shard(run / "shard-0", 1, 2, name="20260101-000100-default-shard1of2")
    (job,) = _docs(K8S / "merge-job.yaml")
    (c,) = job["spec"]["template"]["spec"]["containers"]
    script = c["args"][0].replace("/results", str(tmp_path / "results")) \
        .replace("/opt/kharness/.venv/bin/python", str(REPO_ROOT / ".venv/bin/python")) \
        .replace("/opt/kharness/harness.py", str(REPO_ROOT / "harness.py"))
    env = dict(os.environ, **{e["name"]: e["value"] for e in c["env"]})
    res = subprocess.run([*c["command"], script], env=env, capture_output=True, text=True,
                         timeout=120)
    merged = tmp_path / "results" / "run-1-merged" / "run.json"
    assert res.returncode == 1, res.stderr                 # series a fails (a verdict)
    data = json.loads(merged.read_text())
    assert len(data["jobs"]) == 4 and len(data["comparisons"]) == 3
    assert any("000100" in d for d in data["merged"])
    assert not any("20260101-000000-default-shard1of2" in d for d in data["merged"])
