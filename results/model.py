"""The data model every parser returns and every report reads."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Status(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    XFAIL = "xfail"      # expected failure: counts as passing
    TODO = "todo"        # not ok # TODO: does not count as a failure
    TIMEOUT = "timeout"
    ERROR = "error"
    MISSING = "missing"  # planned or expected but never reported (truncated run)
    FLAKY = "flaky"      # failed, then passed on retry

    @property
    def is_bad(self) -> bool:
        return self in (Status.FAIL, Status.TIMEOUT, Status.ERROR, Status.MISSING)


@dataclass
class TestResult:
    """One test or subtest. `name` is the leaf name; `walk()` joins parents with '/'."""

    __test__ = False  # tell pytest this is not a test class

    name: str
    status: Status
    number: int | None = None
    reason: str = ""                 # directive text (SKIP reason, TIMEOUT seconds, ...)
    log: list[str] = field(default_factory=list)   # diagnostic lines belonging to it
    subtests: list["TestResult"] = field(default_factory=list)
    duration: float | None = None
    runs: list[str] = field(default_factory=list)  # statuses of retries, first run first
    line: int | None = None          # line in the raw log where its result stood

    def walk(self, prefix: str = ""):
        """Yield (path, TestResult) for this test and every subtest, depth first."""
        path = f"{prefix}/{self.name}" if prefix else self.name
        yield path, self
        for sub in self.subtests:
            yield from sub.walk(path)

    def to_dict(self) -> dict:
        d = {"name": self.name, "status": self.status.value}
        for key in ("number", "reason", "duration", "line"):
            val = getattr(self, key)
            if val not in (None, ""):
                d[key] = val
        if self.log:
            d["log"] = self.log
        if self.runs:
            d["runs"] = self.runs
        if self.subtests:
            d["subtests"] = [s.to_dict() for s in self.subtests]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TestResult":
        return cls(name=d["name"], status=Status(d["status"]), number=d.get("number"),
                   reason=d.get("reason", ""), log=list(d.get("log", [])),
                   subtests=[cls.from_dict(s) for s in d.get("subtests", [])],
                   duration=d.get("duration"), runs=list(d.get("runs", [])),
                   line=d.get("line"))


@dataclass
class Splat:
    """A kernel splat (panic, Oops, WARNING, KASAN, ...) found in console output or dmesg."""

    kind: str            # panic, oops, bug, warning, kasan, ubsan, lockdep, rcu_stall, ...
    title: str           # the headline with addresses, pids and offsets stripped
    fingerprint: str     # stable hash of kind + title + top frames
    frames: list[str] = field(default_factory=list)
    excerpt: list[str] = field(default_factory=list)
    line: int | None = None
    test: str | None = None  # the test running when it appeared
    known: str = ""          # the splat list's reason when the tree lists it as known

    def to_dict(self) -> dict:
        d = {"kind": self.kind, "title": self.title, "fingerprint": self.fingerprint,
             "frames": self.frames, "excerpt": self.excerpt, "line": self.line,
             "test": self.test}
        if self.known:
            d["known"] = self.known
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Splat":
        return cls(kind=d["kind"], title=d["title"], fingerprint=d["fingerprint"],
                   frames=list(d.get("frames", [])), excerpt=list(d.get("excerpt", [])),
                   line=d.get("line"), test=d.get("test"), known=d.get("known", ""))


@dataclass
class ParsedLog:
    """What a parser returns for one raw log."""

    format: str                       # ktap, kselftest, test_progs, test_progs_json, console
    tests: list[TestResult] = field(default_factory=list)
    splats: list[Splat] = field(default_factory=list)
    unknown: list[tuple[int, str]] = field(default_factory=list)  # (line number, text)
    complete: bool = True             # False when the log is truncated / bailed out
    notes: list[str] = field(default_factory=list)

    def flat(self):
        for t in self.tests:
            yield from t.walk()

    def counts(self) -> dict[str, int]:
        """Counts over the tests' verdicts (results/verdicts.py): every leaf, and a
        parent that failed on its own while its subtests passed."""
        return counts_of(test_verdicts(self.tests))

    def to_dict(self) -> dict:
        return {"format": self.format, "complete": self.complete,
                "tests": [t.to_dict() for t in self.tests],
                "splats": [s.to_dict() for s in self.splats],
                "unknown": [list(u) for u in self.unknown], "notes": self.notes,
                "counts": self.counts()}

    @classmethod
    def from_dict(cls, d: dict) -> "ParsedLog":
        return cls(format=d["format"], tests=[TestResult.from_dict(t) for t in d["tests"]],
                   splats=[Splat.from_dict(s) for s in d.get("splats", [])],
                   unknown=[tuple(u) for u in d.get("unknown", [])],
                   complete=d.get("complete", True), notes=list(d.get("notes", [])))


# The verdicts of tests (results/verdicts.py builds a job's on these).

@dataclass
class Verdict:
    path: str                        # suite/test[/subtest]; suite/splat-<fp> for a splat
    status: Status
    log: list[str] = field(default_factory=list)
    reason: str = ""
    duration: float | None = None
    test: TestResult | None = None
    splat: Splat | None = None
    during: str | None = None        # a splat: the path of the test that was running


def notable(status: Status) -> bool:
    return status.is_bad or status == Status.FLAKY


def own_failure(t: TestResult) -> bool:
    """A test with subtests that is bad (or flaky) while none of its subtests is."""
    if not t.subtests or not notable(t.status):
        return False
    return not any(notable(s.status) for sub in t.subtests for _, s in sub.walk())


def test_verdicts(tests: list[TestResult], prefix: str = "") -> list[Verdict]:
    """The verdicts of these tests: every leaf, and every parent's own failure."""
    out = []
    for top in tests:
        for path, t in top.walk(prefix):
            if not t.subtests or own_failure(t):
                out.append(Verdict(path, t.status, t.log, t.reason, t.duration, test=t))
    return out


def counts_of(verdicts: list[Verdict]) -> dict[str, int]:
    """Status counts over test verdicts (splats are counted apart)."""
    counts: dict[str, int] = {}
    for v in verdicts:
        if v.splat is None:
            counts[v.status.value] = counts.get(v.status.value, 0) + 1
    return counts
