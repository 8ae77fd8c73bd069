"""Figures: ratios of two things measured in the same run, their median and spread,
and the target check (met / MISSED)."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from common.errors import UsageError

MEASURED = "measured"
SKIPPED = "skipped"
FAILED = "failed"
STATUSES = (MEASURED, SKIPPED, FAILED)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator; a zero or negative denominator is a usage error."""
    if denominator <= 0:
        raise UsageError(f"cannot take a ratio over {denominator!r} (not a positive time)")
    return numerator / denominator


def median(values: list[float]) -> float:
    if not values:
        raise UsageError("median of no samples")
    return statistics.median(values)


def spread(values: list[float]) -> tuple[float, float]:
    """(min, max) of the samples."""
    if not values:
        raise UsageError("spread of no samples")
    return min(values), max(values)


def bisect_steps(n: int) -> int:
    """Steps a bisect over n candidates should take: ceil(log2 n) + 1."""
    if n < 1:
        raise UsageError(f"a bisect needs at least one candidate, not {n}")
    return math.ceil(math.log2(n)) + 1 if n > 1 else 1


@dataclass(frozen=True)
class Target:
    op: str          # "<=" or ">="
    value: float

    def met(self, x: float) -> bool:
        if self.op == "<=":
            return x <= self.value
        if self.op == ">=":
            return x >= self.value
        raise UsageError(f"unknown target operator {self.op!r}")

    def text(self) -> str:
        return f"{self.op} {self.value:g}"


@dataclass
class Figure:
    """One row of the table. `samples` are the repeated values of the figure
    (ratios, or absolute values when `unit` says so); `raw` holds every timing
    it was computed from."""

    id: str
    title: str
    status: str = MEASURED
    samples: list[float] = field(default_factory=list)
    unit: str = "ratio"
    target: Target | None = None
    what: str = ""                  # numerator over denominator, in words
    raw: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    reason: str = ""                # why it was skipped or failed

    @property
    def value(self) -> float | None:
        return median(self.samples) if self.samples and self.status == MEASURED else None

    @property
    def range(self) -> tuple[float, float] | None:
        return spread(self.samples) if self.samples and self.status == MEASURED else None

    @property
    def met(self) -> bool | None:
        v = self.value
        if self.target is None or v is None:
            return None
        return self.target.met(v)

    def verdict(self) -> str:
        """met, MISSED, no target, SKIPPED: why, FAILED: why."""
        if self.status == SKIPPED:
            return f"SKIPPED: {self.reason}"
        if self.status == FAILED:
            return f"FAILED: {self.reason}"
        met = self.met
        if met is None:
            return "no target" if self.unit == "ratio" else "absolute (no target)"
        return "met" if met else "MISSED"

    def to_dict(self) -> dict:
        rng = self.range
        return {"id": self.id, "title": self.title, "status": self.status,
                "unit": self.unit, "samples": [round(s, 6) for s in self.samples],
                "median": None if self.value is None else round(self.value, 6),
                "spread": None if rng is None else [round(rng[0], 6), round(rng[1], 6)],
                "n": len(self.samples),
                "target": None if self.target is None else {"op": self.target.op,
                                                            "value": self.target.value},
                "met": self.met, "verdict": self.verdict(), "what": self.what,
                "raw": self.raw, "notes": list(self.notes), "reason": self.reason}


def skipped(id: str, title: str, reason: str, target: Target | None = None) -> Figure:
    return Figure(id, title, status=SKIPPED, target=target, reason=reason)


def failed(id: str, title: str, reason: str, target: Target | None = None) -> Figure:
    return Figure(id, title, status=FAILED, target=target, reason=reason)


def figure_order(fid: str) -> tuple[int, str]:
    """Sort key of a figure id: by number, then letter ("2" < "3a" < "3b" < "10")."""
    digits = len(fid) - len(fid.lstrip("0123456789"))
    return (int(fid[:digits]) if digits else 0, fid[digits:])


def fmt_value(x: float | None, unit: str) -> str:
    if x is None:
        return "-"
    if unit == "ratio":
        return f"{x:.3f}"
    return f"{x:.3g} {unit}"
