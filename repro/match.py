"""Compare the diagnostics a build printed with the ones a robot report lists."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from kbuild.logparse import NOTE, Diagnostic
from results.model import Splat

REPRODUCED = "reproduced"
PARTIAL = "partially reproduced"
NOT_REPRODUCED = "not reproduced"


SAME, HEADLINE = "same fingerprint", "same headline, other frames"
FAILS = ("fail", "timeout", "error")    # a reported failing test that fails here too


@dataclass
class SplatMatch:
    """A report's splat and the local one that matches it (None: not seen here)."""
    reported: Splat
    seen: Splat | None = None
    how: str = ""                    # SAME, HEADLINE or "" (not seen)

    def render(self) -> list[str]:
        word = {SAME: "matched splat", HEADLINE: "partly matched splat"}.get(self.how,
                                                                             "not seen")
        local = f"[{self.seen.fingerprint[:12]}]" if self.seen else "-"
        how = f"  ({self.how})" if self.how else ""
        return [f"  {word}: {self.reported.kind}: {self.reported.title}",
                f"    report [{self.reported.fingerprint[:12]}]  local {local}{how}"]

    def to_dict(self) -> dict:
        return {"reported": self.reported.to_dict(), "how": self.how or None,
                "seen": self.seen.to_dict() if self.seen else None}


@dataclass
class Verdict:
    verdict: str
    matched: list[tuple[Diagnostic, Diagnostic]] = field(default_factory=list)  # (reported, seen)
    missing: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    splats: list[SplatMatch] = field(default_factory=list)
    tests: list[tuple[str, str | None]] = field(default_factory=list)  # (reported, status here)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "notes": self.notes,
                "matched": [{"reported": r.to_dict(), "seen": s.to_dict(),
                             "line_drift": (s.line - r.line) if s.line and r.line else None}
                            for r, s in self.matched],
                "missing": [d.to_dict() for d in self.missing],
                "splats": [m.to_dict() for m in self.splats],
                "tests": [{"reported": t, "here": st} for t, st in self.tests]}

    def render(self) -> str:
        lines = [f"verdict: {self.verdict}"]
        for r, s in self.matched:
            drift = f" (line {r.line} -> {s.line})" if r.line != s.line else ""
            lines.append(f"  matched: {r.render().strip()}{drift}")
        lines += [f"  not seen: {d.render().strip()}" for d in self.missing]
        for m in self.splats:
            lines += m.render()
        lines += [f"  failing test: {t}: {st or 'not run here'}" for t, st in self.tests]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def match_splats(reported: list[Splat], seen: list[Splat]) -> list[SplatMatch]:
    """Each reported splat with the local one of the same fingerprint, else of the
    same kind and headline (other frames), else none."""
    out = []
    for r in reported:
        same = [s for s in seen if s.fingerprint == r.fingerprint]
        alike = [s for s in seen if (s.kind, s.title) == (r.kind, r.title)]
        out.append(SplatMatch(r, same[0], SAME) if same else
                   SplatMatch(r, alike[0], HEADLINE) if alike else SplatMatch(r))
    return out


def runtime_verdict(splats: list[SplatMatch], tests: list[tuple[str, str | None]]) -> Verdict:
    """Reproduced when every reported splat is seen with its fingerprint and every
    reported failing test fails here; partially when some are (or a splat only by
    its headline); else not reproduced."""
    v = Verdict(NOT_REPRODUCED, splats=splats, tests=tests)
    full = [m.how == SAME for m in splats] + [st in FAILS for _, st in tests]
    some = any(m.how for m in splats) or any(full)
    if not full:
        v.notes.append("the report lists no splat and no failing test to look for")
    elif all(full):
        v.verdict = REPRODUCED
    elif some:
        v.verdict = PARTIAL
    return v


def targets_of(reported: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics a verdict is about: the ones marked new ('>>'), else all but notes."""
    marked = [d for d in reported if d.new and d.severity != NOTE]
    return marked or [d for d in reported if d.severity != NOTE]


def _relative(d: Diagnostic, src_root: str | None) -> Diagnostic:
    if src_root and d.file.startswith(src_root.rstrip("/") + "/"):
        d = replace(d, file=d.file[len(src_root.rstrip("/")) + 1:])
    return d


def match_diagnostics(reported: list[Diagnostic], seen: list[Diagnostic],
                      src_root: str | None = None) -> Verdict:
    wanted = targets_of(reported)
    pool = [_relative(s, src_root) for s in seen]
    v = Verdict(NOT_REPRODUCED)
    for r in wanted:
        hit = _best(r, pool)
        if hit is None:
            v.missing.append(r)
        else:
            pool.remove(hit)
            v.matched.append((r, hit))
    if not wanted:
        v.notes.append("the report lists no diagnostics to look for")
    elif not v.missing:
        v.verdict = REPRODUCED
    elif v.matched:
        v.verdict = PARTIAL
    return v


def _best(r: Diagnostic, pool: list[Diagnostic]) -> Diagnostic | None:
    """The same diagnostic (Diagnostic.key: file, function, message); among those, the
    nearest line. A report or a log that names no function matches on file and
    message alone."""
    same = [s for s in pool if s.key() == r.key()]
    if not same:
        same = [s for s in pool if s.key()[0] == r.key()[0] and s.key()[2] == r.key()[2]
                and not (r.function and s.function)]
    if not same:
        return None
    return min(same, key=lambda s: abs((s.line or 0) - (r.line or 0)))
