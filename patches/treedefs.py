"""Tree definitions (patches/trees/<tree>/tree.yaml): where a tree comes from, its
fix-up patches and its deny list, each with a written reason.

The build and test stages call `tree_extras(name)`.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError
from common.fsutil import REPO_ROOT
from common.yamlfile import Located, line_of, load_yaml
from selftests.conditions import Conditions, parse_conditions, parse_date

from .mailbox import check_file_name

TREES_DIR = REPO_ROOT / "patches" / "trees"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
SUITES = ("test_progs", "kselftest")
DENY_REQUIRED = {"suite", "test", "reason"}
DENY_OPTIONAL = {"link", "expires", "accel", "arch", "toolchain"}


@dataclass(frozen=True)
class Fixup:
    path: Path
    reason: str
    sha256: str


@dataclass(frozen=True)
class DenyEntry:
    suite: str           # test_progs or kselftest
    test: str            # test_progs: test or test/subtest; kselftest: target:test
    reason: str
    link: str | None = None
    expires: dt.date | None = None   # after this date the entry warns and stops applying
    when: Conditions = Conditions()  # accel/arch/toolchain; empty: every job
    path: Path | None = None         # the tree.yaml, and the entry's line in it
    line: int | None = None


@dataclass
class TreeDef:
    name: str
    description: str
    source: dict                      # apt: + version:, or git: + ref:
    fixups: list[Fixup] = field(default_factory=list)
    denylist: list[DenyEntry] = field(default_factory=list)
    path: Path | None = None


@dataclass
class TreeExtras:
    """What the build and test stages need from a tree definition."""
    tree: str
    fixups: list[Fixup] = field(default_factory=list)
    denylist: list[DenyEntry] = field(default_factory=list)

    def denied(self, suite: str) -> list[str]:
        return [d.test for d in self.deny_for(suite)]

    def deny_for(self, runner: str) -> list[DenyEntry]:
        """The entries for a runner (test_progs-no_alu32 and -cpuv4 are test_progs)."""
        kind = "test_progs" if runner.startswith("test_progs") else runner
        return [d for d in self.denylist if d.suite == kind]


def _fail(msg: str, path: Path, obj=None, key=None):
    raise InputError(msg, path=str(path), line=line_of(obj, key) if obj is not None else None)


def _text(obj: Located, key: str, path: Path) -> str:
    val = obj.get(key)
    if not isinstance(val, str) or not val.strip():
        _fail(f"{key!r} must be a non-empty string", path, obj, key if key in obj else None)
    return " ".join(val.split())


def load_treedef(path: Path) -> TreeDef:
    data = load_yaml(path)
    if not isinstance(data, Located):
        _fail("tree.yaml must be a mapping", path)
    for k in data:
        if k not in {"name", "description", "source", "fixups", "denylist"}:
            _fail(f"unknown key {k!r}", path, data, k)
    name = _text(data, "name", path)
    if name != path.parent.name or not NAME_RE.match(name):
        _fail(f"name {name!r} must match the directory {path.parent.name!r}", path, data, "name")
    source = data.get("source")
    if not isinstance(source, Located) or not ({"apt", "git"} & set(source)):
        _fail("'source' must be a mapping with apt: (+ version:) or git: (+ ref:)", path,
              data, "source" if "source" in data else None)
    td = TreeDef(name, _text(data, "description", path), dict(source), path=path)
    for item in data.get("fixups") or []:
        td.fixups.append(_fixup(item, path))
    for item in data.get("denylist") or []:
        td.denylist.append(_deny(item, path))
    return td


def _fixup(item, path: Path) -> Fixup:
    if not isinstance(item, Located) or set(item) != {"patch", "reason"}:
        _fail("a fixup is a mapping with 'patch' and 'reason'", path, item)
    rel = _text(item, "patch", path)
    parts = rel.split("/")
    for part in parts:
        check_file_name(part, str(path), line_of(item, "patch"))
    if ".." in parts or rel.startswith("/"):
        _fail(f"fixup {rel!r} must stay inside {path.parent}", path, item, "patch")
    p = path.parent / rel
    if not p.is_file():
        _fail(f"fixup {rel!r} does not exist", path, item, "patch")
    return Fixup(p, _text(item, "reason", path), hashlib.sha256(p.read_bytes()).hexdigest())


def _deny(item, path: Path) -> DenyEntry:
    if not isinstance(item, Located) or not DENY_REQUIRED <= set(item):
        _fail("a denylist entry is a mapping with 'suite', 'test' and 'reason' (and "
              f"optionally {', '.join(sorted(DENY_OPTIONAL))})", path, item)
    for k in [k for k in item if k not in DENY_REQUIRED | DENY_OPTIONAL]:
        _fail(f"unknown key {k!r} in denylist entry", path, item, k)
    suite = _text(item, "suite", path)
    if suite not in SUITES:
        _fail(f"suite {suite!r} is not one of {', '.join(SUITES)}", path, item, "suite")
    test = _text(item, "test", path)
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_/:.-]*$", test):
        _fail(f"test {test!r} is not a test name", path, item, "test")

    def fail(msg: str, key: str):
        _fail(msg, path, item, key)
    expires = parse_date(item["expires"], fail) if "expires" in item else None
    return DenyEntry(suite, test, _text(item, "reason", path),
                     link=_text(item, "link", path) if "link" in item else None,
                     expires=expires, when=parse_conditions(item, fail), path=path,
                     line=item.line)


def find_treedef(name: str) -> TreeDef | None:
    p = TREES_DIR / name / "tree.yaml"
    return load_treedef(p) if NAME_RE.match(name or "") and p.is_file() else None


def all_treedefs() -> list[TreeDef]:
    return [load_treedef(p) for p in sorted(TREES_DIR.glob("*/tree.yaml"))]


def tree_extras(name: str) -> TreeExtras:
    """Fix-ups (in order) and deny list for tree `name`; empty when it has no definition."""
    td = find_treedef(name)
    if td is None:
        return TreeExtras(name)
    return TreeExtras(name, list(td.fixups), list(td.denylist))
