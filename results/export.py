"""KCIDB export: a run's jobs as one KCIDB JSON document (KernelCI's common schema).

One checkout per tree commit plus patch series (jobs that share them share it),
one build per job (its config and toolchain), and one test per verdict of the job
(results/verdicts.py), plus the boot, each with its log's URL. Any KCIDB submitter
(`kci-dev submit`, `kcidb-submit`) can send the document.

URLs are file:// URLs of the files in the job dir, or, with a base URL, that URL
followed by the file's path relative to the run dir (where the run is published).
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from common.errors import InputError
from common.fsutil import read_json
from common.stage import StageStatus

from .model import Status
from .report import raw_log_for
from .store import JobSummary, find_jobs, load_job
from .verdicts import job_verdicts

ORIGIN = "kharness"
SCHEMA_VERSION = {"major": 5, "minor": 3}   # what kcidb-io's LATEST (v5.3) accepts

# A verdict's status as KCIDB's: flaky (failed, then passed on retry) and xfail (a
# splat the tree knows) passed; misc keeps what the harness called them.
TEST_STATUS = {Status.PASS: "PASS", Status.FAIL: "FAIL", Status.SKIP: "SKIP",
               Status.XFAIL: "PASS", Status.TODO: "SKIP", Status.TIMEOUT: "ERROR",
               Status.ERROR: "ERROR", Status.MISSING: "MISS", Status.FLAKY: "PASS"}
PATH_PART = re.compile(r"[^A-Za-z0-9_-]+")
HTTPS_GIT = re.compile(r"^https://")


def kcidb_path(path: str) -> str:
    """suite/test/subtest as KCIDB's dot-separated path of [A-Za-z0-9_-] parts."""
    parts = [PATH_PART.sub("_", p).strip("_") or "_" for p in path.split("/") if p]
    return ".".join(parts)


def patchset_hash(sha256s: list[str]) -> str:
    """KCIDB's patchset hash: sha256 over each patch's newline-terminated sha256."""
    if not sha256s:
        return ""
    return hashlib.sha256("".join(h + "\n" for h in sha256s).encode()).hexdigest()


class Urls:
    """The URL of a file of a job: file:// by default, else base_url + its path
    relative to the run dir."""

    def __init__(self, run_dir: Path, base_url: str | None = None):
        self.run_dir = Path(run_dir).resolve()
        self.base_url = base_url.rstrip("/") if base_url else None

    def of(self, job_dir: Path, rel: str | None) -> str | None:
        if not rel:
            return None
        f = (Path(job_dir) / rel).resolve()
        if not f.is_file():
            return None
        if self.base_url is None:
            return f.as_uri()
        try:
            return f"{self.base_url}/{f.relative_to(self.run_dir).as_posix()}"
        except ValueError:
            return f.as_uri()


def _manifest(job: JobSummary) -> dict:
    assert job.path is not None
    f = job.path / "manifest.json"
    return read_json(f) if f.is_file() else {}


def _first(job_dir: Path, *rels: str) -> str | None:
    return next((r for r in rels if (job_dir / r).is_file()), None)


def _stage(job: JobSummary, name: str):
    return next((s for s in job.stages if s.name == name), None)


def _stage_status(job: JobSummary, name: str) -> str:
    s = _stage(job, name)
    if s is None or s.status in (StageStatus.SKIPPED, StageStatus.NOT_RUN):
        return "MISS"
    if s.status == StageStatus.RUNNING:
        return "ERROR"
    return "PASS" if s.ok else "FAIL"


def _tree_of_job(job: str) -> str:
    """The tree of a base job (base/<tree>/...) when its manifest does not say."""
    parts = job.split("/")
    return parts[1] if parts[0] == "base" and len(parts) > 2 else "unknown"


def _clean(d: dict) -> dict:
    """d without its None values (misc dicts included)."""
    return {k: (_clean(v) if isinstance(v, dict) else v) for k, v in d.items() if v is not None}


def _checkout(job: JobSummary, man: dict, urls: Urls) -> dict:
    facts = man.get("facts", {})
    spec = man.get("job", {})
    tree = facts.get("tree", {})
    patches = facts.get("apply", {}).get("patches", [])
    commit = tree.get("commit") or facts.get("apply", {}).get("base") or ""
    phash = patchset_hash([p["sha256"] for p in patches if p.get("sha256")])
    series = f"{spec['series']}@{spec.get('rev')}" if spec.get("series") else None
    ident = f"{ORIGIN}:{commit[:12] or 'unknown'}"
    ident += f"+{phash[:16]}" if phash else ""
    out: dict = {"id": ident, "origin": ORIGIN,
                 "tree_name": tree.get("name") or spec.get("tree") or _tree_of_job(job.job),
                 "patchset_hash": phash, "valid": _stage_status(job, "apply") == "PASS",
                 "misc": {"series": series,
                          "patches": [p.get("subject", "") for p in patches]}}
    if re.fullmatch(r"[0-9a-f]{40}", commit):
        out["git_commit_hash"] = commit
    src = tree.get("url") or tree.get("source") or ""
    if HTTPS_GIT.match(str(src)):
        out["git_repository_url"] = src
    if man.get("started"):
        out["start_time"] = man["started"]
    assert job.path is not None
    pdir = job.path / "reproduce" / "patches"
    own = sorted(f for f in pdir.glob("*.patch") if "-fixup-" not in f.name) \
        if pdir.is_dir() else []
    if patches and len(own) == len(patches):
        out["patchset_files"] = [{"name": f.name,
                                  "url": urls.of(job.path, str(f.relative_to(job.path)))}
                                 for f in own]
    log = urls.of(job.path, _first(job.path, "logs/apply.log"))
    if log:
        out["log_url"] = log
    return out


def _build(job: JobSummary, man: dict, checkout_id: str, build_id: str, urls: Urls) -> dict:
    assert job.path is not None
    facts = man.get("facts", {})
    spec = man.get("job", {})
    versions = man.get("versions", {})
    toolchain = spec.get("toolchain") or "gcc"
    compiler = versions.get("clang" if toolchain.startswith("llvm") else "gcc") or toolchain
    cfg = facts.get("config", {})
    stage = _stage(job, "build")
    out: dict = {"id": build_id, "checkout_id": checkout_id, "origin": ORIGIN,
                 "architecture": spec.get("arch") or man.get("host", {}).get("machine")
                 or "x86_64",
                 "compiler": compiler,
                 "config_name": "+".join([cfg.get("profile") or spec.get("profile") or "?"]
                                         + list(cfg.get("fragments", []))
                                         + list(spec.get("fragments", []))),
                 "status": _stage_status(job, "build"),
                 "misc": {"job": job.job, "toolchain": toolchain,
                          "config_sha256": cfg.get("sha256"),
                          "build_key": facts.get("build", {}).get("key"),
                          "make_flags": spec.get("make_flags", []),
                          "targets": spec.get("targets", [])}}
    if stage is not None:
        out["duration"] = float(stage.duration)
        if stage.data.get("new_warnings") is not None:
            out["misc"]["new_warnings"] = stage.data["new_warnings"]
    if man.get("started"):
        out["start_time"] = man["started"]
    config = urls.of(job.path, _first(job.path, "config/config", "config/.config"))
    if config:
        out["config_url"] = config
        out["input_files"] = [{"name": ".config", "url": config}]
    log = urls.of(job.path, _first(job.path, "build/build.log", "logs/build.log"))
    if log:
        out["log_url"] = log
    if stage is not None and stage.status == StageStatus.FAILED and stage.detail:
        out["log_excerpt"] = stage.detail[:16384]
    return out


def _tests(job: JobSummary, man: dict, build_id: str, urls: Urls) -> list[dict]:
    assert job.path is not None
    accel = man.get("facts", {}).get("vm", {}).get("accel") or man.get("job", {}).get("accel")
    env = {"comment": f"virtme-ng/QEMU guest ({accel or 'accel unknown'})",
           "misc": {"accel": accel, "qemu": man.get("versions", {}).get("qemu"),
                    "host": man.get("host", {}).get("host")}}
    console = urls.of(job.path, "console.log")
    dmesg = urls.of(job.path, "dmesg.txt")
    tests = []
    boot = _stage(job, "boot")
    if boot is not None:
        t = {"id": f"{build_id}:boot", "build_id": build_id, "origin": ORIGIN,
             "path": "boot", "status": _stage_status(job, "boot"), "environment": env,
             "duration": float(boot.duration), "misc": {"detail": boot.detail}}
        if console:
            t["log_url"] = console
        tests.append(t)
    for v in job_verdicts(job):
        t = {"id": f"{build_id}:{v.path}", "build_id": build_id, "origin": ORIGIN,
             "path": kcidb_path(v.path), "status": TEST_STATUS[v.status],
             "environment": env, "misc": {"harness_status": v.status.value,
                                          "harness_path": v.path}}
        log = (dmesg if v.splat is not None else None) or urls.of(job.path,
                                                                 raw_log_for(job, v.path))
        if log:
            t["log_url"] = log
        if v.duration is not None:
            t["duration"] = float(v.duration)
        if v.log and (v.status.is_bad or v.status == Status.FLAKY or v.splat is not None):
            t["log_excerpt"] = "\n".join(v.log)[-16384:]
        if v.reason:
            t["comment"] = v.reason[:1000]
        if v.status == Status.FLAKY and v.test is not None:
            t["misc"]["runs"] = list(v.test.runs)
        tests.append(t)
    return tests


def kcidb_document(jobs: list[JobSummary], run_dir: Path, base_url: str | None = None) -> dict:
    """The KCIDB document of these jobs (each with its dir) of one run dir."""
    urls = Urls(run_dir, base_url)
    doc: dict = {"version": dict(SCHEMA_VERSION), "checkouts": [], "builds": [], "tests": []}
    seen: set[str] = set()
    for job in jobs:
        man = _manifest(job)
        run_id = man.get("run_id") or Path(run_dir).resolve().name
        checkout = _checkout(job, man, urls)
        if checkout["id"] not in seen:
            seen.add(checkout["id"])
            doc["checkouts"].append(_clean(checkout))
        build_id = f"{ORIGIN}:{run_id}/{job.job}"
        doc["builds"].append(_clean(_build(job, man, checkout["id"], build_id, urls)))
        doc["tests"] += [_clean(t) for t in _tests(job, man, build_id, urls)]
    return doc


def export_run(run_dir: Path, base_url: str | None = None) -> dict:
    """The KCIDB document of every job at or below run_dir."""
    jobs = [load_job(p) for p in find_jobs(Path(run_dir))]
    if not jobs:
        raise InputError("no job results found", path=str(run_dir))
    return kcidb_document(jobs, Path(run_dir), base_url)
