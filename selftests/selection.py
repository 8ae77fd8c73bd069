"""Which tests run: allow list, deny list (with expiry), and how results of
deny-listed tests are reported."""
from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, field

from results.model import Status, TestResult

from .suite import DenyEntry, Suite


@dataclass
class Selection:
    allow: list[str]                       # empty: every test
    deny: list[DenyEntry]                  # entries in force
    expired: list[DenyEntry] = field(default_factory=list)   # no longer applied
    warnings: list[str] = field(default_factory=list)


def select(suite: Suite, today: dt.date | None = None,
           only: list[str] | None = None) -> Selection:
    """Split the deny list into live and expired entries (expired ones warn and
    stop applying). `only` narrows the allow list (patterns it must match)."""
    today = today or dt.date.today()
    live, expired, warnings = [], [], []
    for entry in suite.deny:
        if entry.expired(today):
            expired.append(entry)
            warnings.append(f"{suite.source}:{entry.line}: deny entry '{entry.name}' expired "
                            f"on {entry.expires.isoformat()} and no longer applies "
                            f"(reason was: {entry.reason})")
        else:
            live.append(entry)
    allow = list(suite.allow)
    if only:
        allow = [a for a in allow if any(matches(o, a) or matches(a, o) for o in only)] \
            if allow else list(only)
    return Selection(allow=allow, deny=live, expired=expired, warnings=warnings)


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
