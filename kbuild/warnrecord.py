"""The per-object warning record of a family's build dir.

An incremental build prints the warnings of the objects it recompiles and
nothing about the others, so its log alone does not say which warnings the tree
has. The record keeps, for each object (unit), the warnings of its last compile:
a build replaces the entries of the objects its log shows being made (an object
that printed nothing gets an empty entry) and keeps the others. Its union is the
full set of the tree's warnings after any build.

One record per set of make flags (W=1, C=1, LLVM=...), since the flags change
what a compile prints: <build dir>/.kharness-warnings/<flags digest>.json. An
entry also holds the object's mtime and size after the build that wrote it; an
object made since by a build with other flags, or by a killed build, no longer
matches its entry, and the entry no longer counts.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from common.fsutil import read_json, write_json

from .logparse import OTHER_UNIT, WARNING, Diagnostic, compiled_units, dedup, parse_diagnostics

RECORD_DIR = ".kharness-warnings"


@dataclass
class Record:
    path: Path
    flags: list[str]
    units: dict[str, dict] = field(default_factory=dict)   # unit -> {stamp, warnings}


def record_path(obj: Path, flags: list[str]) -> Path:
    digest = hashlib.sha256(json.dumps(sorted(flags)).encode()).hexdigest()[:16]
    return Path(obj) / RECORD_DIR / f"{digest}.json"


def load(obj: Path, flags: list[str]) -> Record:
    """The record for these flags; empty when there is none (or it is unreadable)."""
    path = record_path(obj, flags)
    try:
        units = read_json(path).get("units", {})
    except (OSError, ValueError, AttributeError):
        units = {}
    return Record(path, sorted(flags), units if isinstance(units, dict) else {})


def _stamp(obj: Path, unit: str) -> list[int] | None:
    """mtime and size of the unit's object; None for modpost, the link, a missing file."""
    if unit.startswith("("):
        return None
    try:
        st = (Path(obj) / unit).stat()
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size]


def current(rec: Record, obj: Path) -> dict[str, dict]:
    """The entries that still describe the build dir's objects."""
    return {u: e for u, e in rec.units.items()
            if u.startswith("(") or (e.get("stamp") is not None and e["stamp"] == _stamp(obj, u))}


def forget_unrecorded(rec: Record, obj: Path) -> list[Path]:
    """Remove the build dir's objects that have no current entry (made before the
    record existed, by a build with other flags, or by a killed build), so make
    compiles them again and their warnings are recorded: otherwise they would be
    up to date, print nothing, and the record would never know their warnings.
    Returns what was removed. tools/ is left alone: its own build system (objtool,
    resolve_btfids) names its objects in ways a kbuild log does not tie to a path.
    os.walk does not follow the build dir's `source` link into the tree."""
    known = current(rec, obj)
    gone = []
    for dirpath, dirs, files in os.walk(obj):
        if Path(dirpath) == Path(obj) and "tools" in dirs:
            dirs.remove("tools")
        for name in files:
            p = Path(dirpath) / name
            if name.endswith(".o") and str(p.relative_to(obj)) not in known:
                p.unlink()
                gone.append(p)
    return gone


def _by_unit(obj: Path, lines: list[str], strip, made: set[str]) -> dict[str, list]:
    """The log's warnings per unit. A warning whose unit was not made and has no
    object (a .c built under another object's name) goes to OTHER_UNIT, which
    every build replaces: it is listed for this build, not kept."""
    out: dict[str, list[Diagnostic]] = {}
    for d in parse_diagnostics(lines, strip):
        if d.severity != WARNING:
            continue
        unit = d.unit
        if unit not in made and not unit.startswith("(") and _stamp(obj, unit) is None:
            unit = OTHER_UNIT
        out.setdefault(unit, []).append(d)
    return out


def update(rec: Record, obj: Path, lines: list[str], strip: tuple[str, ...]) -> None:
    """Replace the entries of the units the log shows being made; keep the others."""
    made = compiled_units(lines, strip)
    by_unit = _by_unit(obj, lines, strip, made)
    entries = current(rec, obj)
    for unit in made | set(by_unit):
        entries[unit] = {"stamp": _stamp(obj, unit),
                         "warnings": [d.to_dict() for d in dedup(by_unit.get(unit, []))]}
    rec.units = entries
    write_json(rec.path, {"flags": rec.flags, "units": entries})


def full_set(rec: Record, obj: Path) -> list[Diagnostic]:
    """Every warning of the tree under these flags, each once."""
    entries = current(rec, obj)
    return dedup(Diagnostic.from_dict(w) for u in sorted(entries)
                 for w in entries[u]["warnings"])
