"""The on-disk results store.

Layout (documented in the README):

    results/<run-id>/                       one invocation of run / matrix
        run.json                            the jobs of this run and their exit codes
        <series>/<rev>/<profile>-<toolchain>/    one job ("base/<tree>/..." for --base-only)
            manifest.json   inputs and versions
            summary.json    stages, counts and failing verdicts (results/verdicts.py),
                            suites with their groups' measured times, splats (known
                            ones marked); "state": running|complete|incomplete
            reproduce.sh    the commands to redo the job by hand
            commands.log    every command the harness ran, in order
            logs/<stage>.log
            config/         final .config and its verification report
            build/          warnings.txt, new-warnings.txt
            console.log, dmesg.txt
            raw/<suite>.log raw test output, streamed as it came
            parsed/<suite>.json
            results.tap, junit.xml, report.html

Every write is atomic (temp file + rename). Until finish() runs, summary.json says
"running"; a run killed before that is read back as "incomplete".
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError
from common.fsutil import atomic_write, read_json, results_root, write_json
from common.stage import RUNNING, SKIPPED, STAGES, StageResult

from .model import ParsedLog, Splat, TestResult
from .splatlist import KnownSplat, mark_known

SAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def default_root() -> Path:
    return results_root()


def new_run_id(label: str = "") -> str:
    """`20261127-074700.123456-3f2a[-label]`: microseconds and a random tag, so two
    runs started in the same second never share a run dir (names still sort by time)."""
    now = dt.datetime.now(dt.timezone.utc)
    stamp = f"{now:%Y%m%d-%H%M%S}.{now.microsecond:06d}-{secrets.token_hex(2)}"
    return f"{stamp}-{safe(label)}" if label else stamp


def safe(part: str) -> str:
    """One path component: no '/', no control character, never '.' or '..'."""
    out = SAFE.sub("_", part).strip("_") or "_"
    return "_" if out in (".", "..") else out


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class GroupTiming:
    """One group the runner ran: what the harness measured for it."""

    label: str
    duration: float                  # seconds, measured by the harness
    tests: list[str] = field(default_factory=list)   # top-level tests it reported
    retry_of: str | None = None

    def to_dict(self) -> dict:
        d = {"label": self.label, "duration": round(self.duration, 3), "tests": self.tests}
        return d | ({"retry_of": self.retry_of} if self.retry_of else {})

    @classmethod
    def from_dict(cls, d: dict) -> "GroupTiming":
        return cls(d["label"], float(d.get("duration", 0.0)), list(d.get("tests", [])),
                   d.get("retry_of"))


@dataclass
class SuiteRecord:
    name: str
    parsed: ParsedLog
    raw: str | None = None           # raw log path relative to the job dir
    groups: list[GroupTiming] = field(default_factory=list)

    @property
    def duration(self) -> float | None:
        """The measured time of its groups, None when none was recorded."""
        return sum(g.duration for g in self.groups) if self.groups else None


@dataclass
class JobSummary:
    """What summary.json holds, read back."""

    job: str
    state: str
    exit_code: int | None
    stages: list[StageResult]
    suites: list[SuiteRecord] = field(default_factory=list)
    splats: list[Splat] = field(default_factory=list)
    path: Path | None = None
    started: str | None = None
    ended: str | None = None

    def tests(self):
        """(suite/test/subtest path, TestResult) for every test in every suite."""
        for s in self.suites:
            for t in s.parsed.tests:
                yield from t.walk(s.name)

    def counts(self) -> dict[str, int]:
        """Counts over the job's test verdicts (results/verdicts.py)."""
        from .verdicts import job_counts
        return job_counts(self)


class JobStore:
    """Writes one job's results directory incrementally."""

    def __init__(self, path: Path, job: str):
        self.path = Path(path)
        self.job = job
        self.stages: dict[str, StageResult] = {}
        self.suites: list[SuiteRecord] = []
        self.splats: list[Splat] = []
        self.started = now_iso()
        self.state = RUNNING
        self.exit_code: int | None = None
        self.known_splats: list[KnownSplat] = []

    @classmethod
    def create(cls, root: Path, run_id: str, job_parts: list[str]) -> "JobStore":
        job = "/".join(safe(p) for p in job_parts)
        path = Path(root) / run_id / job
        path.mkdir(parents=True, exist_ok=True)
        (path / "logs").mkdir(exist_ok=True)
        store = cls(path, job)
        store._flush()
        return store

    def file(self, rel: str) -> Path:
        p = self.path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def stage_log(self, stage: str) -> Path:
        return self.file(f"logs/{stage}.log")

    def write_manifest(self, manifest: dict) -> None:
        write_json(self.path / "manifest.json", manifest)

    def update_manifest(self, **fields) -> None:
        p = self.path / "manifest.json"
        data = read_json(p) if p.exists() else {}
        data.update(fields)
        write_json(p, data)

    def record_stage(self, result: StageResult) -> None:
        self.stages[result.name] = result
        self._flush()

    def skip_rest(self, after: str, reason: str) -> None:
        """Mark every stage after `after` that has no result as skipped."""
        seen = False
        for name in STAGES:
            if seen and name not in self.stages:
                self.stages[name] = StageResult(name, SKIPPED, detail=reason)
            seen = seen or name == after
        self._flush()

    def use_splat_list(self, entries: list[KnownSplat]) -> None:
        """The tree's known splats (results/splatlist.py): splats they list, now
        and later, are marked known and do not fail the job."""
        self.known_splats = list(entries)
        mark_known(self.splats, self.known_splats)
        for rec in self.suites:
            mark_known(rec.parsed.splats, self.known_splats)
        self._flush()

    def add_suite(self, name: str, parsed: ParsedLog, raw: str | None = None,
                  groups: list[GroupTiming] | None = None) -> None:
        """Record a suite's results; `groups`: what the harness measured for each
        group it ran (the durations JUnit and KTAP report)."""
        mark_known(parsed.splats, self.known_splats)
        self.suites = [s for s in self.suites if s.name != name]
        self.suites.append(SuiteRecord(name, parsed, raw, list(groups or [])))
        write_json(self.file(f"parsed/{safe(name)}.json"), parsed.to_dict())
        self.splats.extend(s for s in parsed.splats
                           if s.fingerprint not in {x.fingerprint for x in self.splats})
        self._flush()

    def add_splats(self, splats: list[Splat]) -> None:
        mark_known(splats, self.known_splats)
        known = {s.fingerprint for s in self.splats}
        self.splats.extend(s for s in splats if s.fingerprint not in known)
        self._flush()

    def finish(self, exit_code: int, complete: bool = True) -> None:
        self.exit_code = exit_code
        self.state = "complete" if complete else "incomplete"
        self._flush()

    def summary(self) -> JobSummary:
        ordered = [self.stages[n] for n in STAGES if n in self.stages]
        ordered += [s for n, s in self.stages.items() if n not in STAGES]
        return JobSummary(self.job, self.state, self.exit_code, ordered, list(self.suites),
                          list(self.splats), self.path, self.started,
                          now_iso() if self.state != RUNNING else None)

    def _flush(self) -> None:
        write_json(self.path / "summary.json", summary_to_dict(self.summary()))


def summary_to_dict(s: JobSummary) -> dict:
    from .verdicts import failing
    return {
        "job": s.job, "state": s.state, "exit_code": s.exit_code,
        "started": s.started, "ended": s.ended,
        "stages": [st.to_dict() for st in s.stages],
        "counts": s.counts(),
        "failing": [v.path for v in failing(s)],
        "suites": [_suite_dict(x) for x in s.suites],
        "splats": [sp.to_dict() for sp in s.splats],
    }


def _suite_dict(rec: SuiteRecord) -> dict:
    d = {"name": rec.name, "raw": rec.raw, "parsed": rec.parsed.to_dict()}
    if rec.groups:
        d["groups"] = [g.to_dict() for g in rec.groups]
    return d


def _suite_of(d: dict) -> SuiteRecord:
    return SuiteRecord(d["name"], ParsedLog.from_dict(d["parsed"]), d.get("raw"),
                       [GroupTiming.from_dict(g) for g in d.get("groups", [])])


def load_job(path: Path) -> JobSummary:
    """Read a job dir back. A job whose summary still says "running" was killed:
    it is returned as "incomplete"."""
    path = Path(path)
    f = path / "summary.json"
    if not f.exists():
        raise InputError("not a job results dir (no summary.json)", path=str(path))
    try:
        d = read_json(f)
    except (ValueError, RecursionError) as e:
        raise InputError(f"unreadable summary.json: {e}", path=str(f)) from e
    try:
        job = _job_of(d, path)
        _check_tests(job)
    except (KeyError, TypeError, ValueError, AttributeError, RecursionError) as e:
        raise InputError(f"summary.json has the wrong shape ({type(e).__name__}: {e})",
                         path=str(f)) from None
    return job


def _job_of(d: dict, path: Path) -> JobSummary:
    state = d.get("state", "incomplete")
    if state == RUNNING:
        state = "incomplete"
    suites = [_suite_of(x) for x in d.get("suites", [])]
    job = JobSummary(job=d.get("job", path.name), state=state, exit_code=d.get("exit_code"),
                     stages=[StageResult.from_dict(x) for x in d.get("stages", [])],
                     suites=suites, splats=[Splat.from_dict(x) for x in d.get("splats", [])],
                     path=path, started=d.get("started"), ended=d.get("ended"))
    if not isinstance(job.job, str) or not isinstance(job.state, str) or not (
            job.exit_code is None or type(job.exit_code) is int):
        raise TypeError("'job' and 'state' must be strings, 'exit_code' an integer")
    return job


def _check_tests(job: JobSummary) -> None:
    """Every test's fields of the type the reports read (raises TypeError)."""
    for path, t in job.tests():
        if not (isinstance(t.name, str) and isinstance(t.reason, str)
                and all(isinstance(x, str) for x in t.log)
                and (t.duration is None or isinstance(t.duration, (int, float)))
                and (t.line is None or isinstance(t.line, int))):
            raise TypeError(f"test {path!r}: a field of the wrong type")


def find_jobs(path: Path) -> list[Path]:
    """Job dirs at or below `path` (a job dir itself, a run dir, or results/)."""
    path = Path(path)
    if (path / "summary.json").exists():
        return [path]
    if not path.is_dir():
        raise InputError("no such results directory", path=str(path))
    return sorted(p.parent for p in path.rglob("summary.json"))


def write_text(path: Path, text: str) -> None:
    """Write atomically as UTF-8; a lone surrogate (undecodable guest output) is
    written `\\udc80`, not a crash."""
    atomic_write(path, text.encode("utf-8", "backslashreplace").decode("utf-8"))


def tests_of(parsed_suites: list[SuiteRecord]) -> list[tuple[str, TestResult]]:
    out = []
    for s in parsed_suites:
        for t in s.parsed.tests:
            out.extend(t.walk(s.name))
    return out
