"""Which tests run: allow list, deny list (with expiry), and how results of
deny-listed tests are reported."""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field

from results.model import Status, TestResult

from .conditions import JobFacts
from .suite import DenyEntry, Suite


@dataclass
class Selection:
    allow: list[str]                       # empty: every test
    deny: list[DenyEntry]                  # entries in force
    expired: list[DenyEntry] = field(default_factory=list)   # no longer applied
    warnings: list[str] = field(default_factory=list)
    inactive: list[tuple[DenyEntry, str]] = field(default_factory=list)  # conditions unmet
    job: JobFacts = JobFacts()

    def to_dict(self) -> dict:
        """What suite.json records: the job's facts and every entry, applied or not."""
        return {"job": self.job.to_dict(),
                "applied": [e.to_dict() for e in self.deny],
                "not_applied": [dict(e.to_dict(), why=why) for e, why in self.inactive],
                "expired": [e.to_dict() for e in self.expired]}


def select(suite: Suite, today: dt.date | None = None, only: list[str] | None = None,
           *, extra: list[DenyEntry] | None = None, job: JobFacts | None = None) -> Selection:
    """Split the deny list (the suite's entries, then `extra`: the tree's) into
    live, expired and inactive entries: expired ones warn and stop applying;
    inactive ones have conditions this `job` does not match. `only` narrows the
    allow list (patterns it must match)."""
    today = today or dt.date.today()
    sel = Selection(allow=narrow(suite.allow, only), deny=[], job=job or JobFacts())
    for entry in [*suite.deny, *(extra or [])]:
        why = entry.when.mismatch(sel.job)
        if entry.expired(today):
            sel.expired.append(entry)
            sel.warnings.append(f"{entry.where}: deny entry '{entry.name}' expired on "
                                f"{entry.expires.isoformat()} and no longer applies "
                                f"(reason was: {entry.reason})")
        elif why is not None:
            sel.inactive.append((entry, why))
        else:
            sel.deny.append(entry)
    return sel


def narrow(allow: list[str], only: list[str] | None) -> list[str]:
    if not only:
        return list(allow)
    if not allow:
        return list(only)
    return [a for a in allow if any(matches(o, a) or matches(a, o) for o in only)]


def tree_deny(tree: str | None, runner: str) -> list[DenyEntry]:
    """Tree `tree`'s deny entries (patches/trees/<tree>/tree.yaml) for `runner`."""
    if not tree:
        return []
    from patches.treedefs import tree_extras
    return [DenyEntry(d.test, d.reason, d.link, d.expires, d.line, d.when, str(d.path))
            for d in tree_extras(tree).deny_for(runner)]


def matches(pattern: str, name: str) -> bool:
    """test_progs-style name matching: a pattern without '/' matches a test and
    all its subtests; globs (*, ?) are allowed on each side of the '/'. A
    kselftest collection ("landlock") matches its tests ("landlock:fs_test")."""
    if fnmatch.fnmatchcase(name, pattern):
        return True
    top = name.split("/", 1)[0]
    if "/" not in pattern and "/" in name and fnmatch.fnmatchcase(top, pattern):
        return True
    if ":" not in pattern and ":" in top:
        return fnmatch.fnmatchcase(top.split(":", 1)[0], pattern)
    return False


def denied_by(name: str, deny: list[DenyEntry]) -> DenyEntry | None:
    for entry in deny:
        if matches(entry.name, name):
            return entry
    return None


def apply_deny(tests: list[TestResult], deny: list[DenyEntry], prefix: str = "") -> None:
    """A deny-listed test that still ran and failed is reported as SKIP with the
    deny reason (in place); passes are left alone."""
    for t in tests:
        path = f"{prefix}/{t.name}" if prefix else t.name
        entry = denied_by(path, deny)
        if entry is not None and t.status.is_bad:
            was = t.status.value
            t.status = Status.SKIP
            t.reason = f"deny-listed ({was}): {entry.reason}" + \
                (f" ({entry.link})" if entry.link else "")
        apply_deny(t.subtests, deny, path)
