"""Compare the diagnostics a build printed with the ones a robot report lists."""
from __future__ import annotations

from dataclasses import dataclass, field, replace

from kbuild.logparse import NOTE, Diagnostic

REPRODUCED = "reproduced"
PARTIAL = "partially reproduced"
NOT_REPRODUCED = "not reproduced"


@dataclass
class Verdict:
    verdict: str
    matched: list[tuple[Diagnostic, Diagnostic]] = field(default_factory=list)  # (reported, seen)
    missing: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"verdict": self.verdict, "notes": self.notes,
                "matched": [{"reported": r.to_dict(), "seen": s.to_dict(),
                             "line_drift": (s.line - r.line) if s.line and r.line else None}
                            for r, s in self.matched],
                "missing": [d.to_dict() for d in self.missing]}

    def render(self) -> str:
        lines = [f"verdict: {self.verdict}"]
        for r, s in self.matched:
            drift = f" (line {r.line} -> {s.line})" if r.line != s.line else ""
            lines.append(f"  matched: {r.render().strip()}{drift}")
        lines += [f"  not seen: {d.render().strip()}" for d in self.missing]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


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
