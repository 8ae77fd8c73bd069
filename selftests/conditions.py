"""Conditions on a deny entry (suite files and tree.yaml): `accel`, `arch`,
`toolchain`. An entry with conditions applies only to a job that matches all of
them; each condition is one value or a list of values. Also the expiry date."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, fields
from typing import Callable, NoReturn

ACCELS = ("kvm", "tcg")
ARCHES = ("x86_64", "x86", "i386", "arm64")          # the arches kbuild builds
TOOLCHAIN_RE = re.compile(r"^(gcc|llvm|llvm-\d+)$")   # kbuild.toolchain's names
KEYS = ("accel", "arch", "toolchain")

# fail(message, key): raise InputError naming the file and the line of `key`
Fail = Callable[[str, str], NoReturn]


@dataclass(frozen=True)
class JobFacts:
    """What a deny entry's conditions are checked against (None: not known)."""
    accel: str | None = None          # the accelerator the VM actually runs with
    arch: str | None = None
    toolchain: str | None = None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in KEYS}


@dataclass(frozen=True)
class Conditions:
    accel: tuple[str, ...] = ()
    arch: tuple[str, ...] = ()
    toolchain: tuple[str, ...] = ()

    def mismatch(self, job: JobFacts) -> str | None:
        """Why an entry with these conditions does not apply to `job`, or None."""
        for f in fields(self):
            want, have = getattr(self, f.name), getattr(job, f.name)
            if want and have not in want:
                return f"{f.name} is {have or 'unknown'}, the entry is for {'|'.join(want)}"
        return None

    def to_dict(self) -> dict:
        return {f.name: list(getattr(self, f.name)) for f in fields(self)
                if getattr(self, f.name)}

    def __str__(self) -> str:
        return ", ".join(f"{k} {'|'.join(v)}" for k, v in self.to_dict().items())


def parse_conditions(node: dict, fail: Fail) -> Conditions:
    """The accel/arch/toolchain keys of a deny entry; unknown values fail."""
    return Conditions(**{k: _values(node, k, fail) for k in KEYS if k in node})


def _values(node: dict, key: str, fail: Fail) -> tuple[str, ...]:
    val = node[key]
    vals = [val] if isinstance(val, str) else val
    if not isinstance(vals, list) or not vals or not all(isinstance(v, str) for v in vals):
        fail(f"'{key}' must be a value or a list of values", key)
    for v in vals:
        if not _known(key, v):
            fail(f"unknown {key} '{v}' in deny entry (one of: {_choices(key)})", key)
    return tuple(vals)


def _known(key: str, value: str) -> bool:
    if key == "toolchain":
        return bool(TOOLCHAIN_RE.match(value))
    return value in (ACCELS if key == "accel" else ARCHES)


def _choices(key: str) -> str:
    if key == "toolchain":
        return "gcc, llvm, llvm-NN"
    return ", ".join(ACCELS if key == "accel" else ARCHES)


def parse_date(val, fail: Fail, key: str = "expires") -> dt.date:
    if isinstance(val, dt.datetime):
        return val.date()
    if isinstance(val, dt.date):
        return val
    if isinstance(val, str):
        try:
            return dt.date.fromisoformat(val)
        except ValueError:
            pass
    fail(f"'{key}' must be a date YYYY-MM-DD, not '{val}'", key)
