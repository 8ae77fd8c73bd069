"""Series manifests (patches/series/<series>/series.yaml): load, check against the schema,
and find. Every error names the file and the line."""
from __future__ import annotations

import datetime
import re
from pathlib import Path

import yaml

from common.errors import InputError, UsageError
from common.fsutil import REPO_ROOT, cache_dir
from common.yamlfile import Located, Schema, line_of, load_yaml

from .model import Base, Revision, Series, Source, Tests

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
LABEL_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")
SPEC_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")   # a SERIES or REV of SERIES@REV (fullmatch)
MSGID_RE = re.compile(r"^[^\s<>@/]+@[^\s<>@/]+$")
SELECTOR_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_/:.,*-]*$")
FRAGMENT_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")
CMDLINE_RE = re.compile(r"^[A-Za-z0-9_.-]+(=[A-Za-z0-9_.,:/=+-]+)?$")
KCONFIG_RE = re.compile(r"^CONFIG_[A-Z0-9_]+$")

TOP_KEYS = {"name", "title", "authors", "list", "defaults", "revisions", "notes"}
SHARED_KEYS = {"base", "tests", "suites", "fragments", "cmdline", "kconfig", "author"}
REV_KEYS = SHARED_KEYS | {"version", "date", "message_id", "patches", "source", "notes",
                          "upstream", "upstream_message_id", "follows"}
SOURCE_KINDS = ("dir", "mbox", "quilt")
MANIFEST = "series.yaml"


def series_roots() -> list[Path]:
    """Where series dirs live: the repo's patches/series/ and the cache (generated ones)."""
    return [REPO_ROOT / "patches" / "series", cache_dir() / "series"]


def load_series(path: Path) -> Series:
    """Load and check one series.yaml (a file, or the dir holding it)."""
    path = Path(path)
    if path.is_dir():
        path = path / MANIFEST
    data = _load(path)
    c = Schema(path)
    top = c.mapping(data, "the manifest")
    c.keys(top, TOP_KEYS, "the manifest")
    name = c.string(top, "name", required=True, pattern=NAME_RE)
    if name != path.parent.name:
        c.fail(f"name {name!r} does not match the directory {path.parent.name!r}", top, "name")
    authors = c.strings(top, "authors", scalar_ok=True)
    if not authors:
        c.fail("missing required key 'authors' (a list)", top, "authors")
    defaults = c.mapping(top.get("defaults", _empty()), "defaults", top, "defaults")
    c.keys(defaults, SHARED_KEYS, "defaults")
    revs = top.get("revisions")
    if not isinstance(revs, list) or not revs:
        c.fail("'revisions' must be a non-empty list", top, "revisions" if revs else None)
    series = Series(name=name, title=c.string(top, "title", required=True),
                    authors=authors, list=c.string(top, "list", required=True),
                    revisions=[], dir=path.parent, manifest=path)
    seen: dict[str, int] = {}
    for raw in revs:
        rev = _revision(c, raw, defaults, series)
        if rev.label in seen:
            c.fail(f"duplicate revision label {rev.label!r} (first at line {seen[rev.label]})",
                   raw, "version")
        seen[rev.label] = line_of(raw, "version")
        series.revisions.append(rev)
    _check_links(c, series, revs)
    return series


def _load(path: Path):
    """load_yaml, plus file and line for a scalar YAML cannot build (a bad date)."""
    try:
        return load_yaml(path)
    except (ValueError, yaml.YAMLError) as e:
        raise InputError(f"bad value: {e}", path=str(path), line=_bad_scalar_line(path)) from e


def _bad_scalar_line(path: Path) -> int | None:
    def walk(node):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                yield from walk(k)
                yield from walk(v)
        elif isinstance(node, yaml.SequenceNode):
            for v in node.value:
                yield from walk(v)
        else:
            yield node
    for node in walk(yaml.compose(path.read_text(), Loader=yaml.SafeLoader)):
        try:
            yaml.safe_load(yaml.serialize(node))
        except (ValueError, yaml.YAMLError):
            return node.start_mark.line + 1
    return None


def _empty() -> Located:
    out = Located()
    out.line, out.key_lines = 0, {}
    return out


def _merged(raw: Located, defaults: Located) -> Located:
    out = Located()
    out.line = raw.line
    out.key_lines = dict(defaults.key_lines)
    out.update(defaults)
    out.update(raw)
    out.key_lines.update(raw.key_lines)
    return out


def _revision(c: Schema, raw, defaults: Located, series: Series) -> Revision:
    raw = c.mapping(raw, "a revision")
    c.keys(raw, REV_KEYS, "a revision")
    r = _merged(raw, defaults)
    label = c.string(r, "version", required=True, pattern=LABEL_RE, what=" (the label)")
    rev = Revision(label=label, line=raw.line, base=_base(c, r),
                   date=_date(c, r), message_id=_msgid(c, r, "message_id"),
                   patches=_count(c, r), source=_source(c, r, series.dir),
                   tests=_tests(c, r), suites=c.strings(r, "suites", NAME_RE, scalar_ok=True),
                   fragments=c.strings(r, "fragments", FRAGMENT_RE, scalar_ok=True),
                   cmdline=c.strings(r, "cmdline", CMDLINE_RE, scalar_ok=True),
                   kconfig=c.strings(r, "kconfig", KCONFIG_RE, scalar_ok=True),
                   notes=(c.string(r, "notes") or "").strip(),
                   upstream=c.string(r, "upstream", pattern=LABEL_RE),
                   upstream_message_id=_msgid(c, r, "upstream_message_id"),
                   follows=c.string(r, "follows", pattern=LABEL_RE),
                   author=c.string(r, "author"))
    if not (rev.message_id or rev.upstream or rev.follows or rev.source):
        c.fail(f"revision {label!r} needs a message_id (a posting), 'upstream' (a port), "
               "'follows' (a local revision) or a 'source'", raw)
    if rev.kind == "posting" and not rev.date:
        c.fail(f"revision {label!r} is a posting and needs its 'date'", raw)
    return rev


def _base(c: Schema, r: Located) -> Base:
    if "base" not in r:
        c.fail("missing required key 'base' (tree, and ref where known)", r)
    b = c.mapping(r["base"], "'base'", r, "base")
    c.keys(b, {"tree", "ref"}, "base")
    tree = c.string(b, "tree", required=True, pattern=NAME_RE)
    ref = c.string(b, "ref", pattern=re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/^~-]*$"))
    return Base(tree, ref, line_of(r, "base"))


def _date(c: Schema, r: Located) -> str | None:
    if "date" not in r:
        return None
    val = r["date"]
    if isinstance(val, datetime.date):
        return val.isoformat()
    if isinstance(val, str) and re.match(r"^\d{4}-\d\d-\d\d$", val):
        try:
            return datetime.date.fromisoformat(val).isoformat()
        except ValueError:
            pass
    c.fail(f"'date' must be a date like 2025-06-16, not {val!r}", r, "date")


def _msgid(c: Schema, r: Located, key: str) -> str | None:
    val = c.string(r, key)
    if val is None:
        return None
    val = val.strip().removeprefix("<").removesuffix(">")
    if not MSGID_RE.match(val):
        c.fail(f"{key!r}: {val!r} is not a message-id (local@domain)", r, key)
    return val


def _count(c: Schema, r: Located) -> int | None:
    if "patches" not in r:
        return None
    val = r["patches"]
    if not isinstance(val, int) or isinstance(val, bool) or val < 1:
        c.fail("'patches' must be a positive number (how many the posting has)", r, "patches")
    return val


def _source(c: Schema, r: Located, series_dir: Path) -> Source | None:
    if "source" not in r:
        return None
    s = c.mapping(r["source"], "'source'", r, "source")
    c.keys(s, set(SOURCE_KINDS), "source")
    if len(s) != 1:
        c.fail("'source' names exactly one of dir, mbox, quilt", r, "source")
    kind = next(iter(s))
    rel = c.string(s, kind, pattern=re.compile(r"^[A-Za-z0-9_.+/-]+$"))
    if rel.startswith("/") or ".." in rel.split("/"):
        c.fail(f"source path {rel!r} must stay inside the series dir", s, kind)
    return Source(kind, series_dir / rel, declared=True)


def _tests(c: Schema, r: Located) -> Tests:
    if "tests" not in r:
        return Tests()
    t = c.mapping(r["tests"], "'tests'", r, "tests")
    c.keys(t, {"test_progs", "kselftest"}, "tests")
    return Tests(c.strings(t, "test_progs", SELECTOR_RE, scalar_ok=True), c.strings(t, "kselftest", SELECTOR_RE, scalar_ok=True))


def _check_links(c: Schema, series: Series, raws: list) -> None:
    by = {r.label: r for r in series.revisions}
    for rev, raw in zip(series.revisions, raws):
        for key in ("upstream", "follows"):
            target = getattr(rev, key)
            if target is None:
                continue
            if target not in by or target == rev.label:
                c.fail(f"{key} {target!r}: no such other revision in this series", raw, key)
        if rev.upstream:
            up = by[rev.upstream]
            if up.kind != "posting":
                c.fail(f"upstream {rev.upstream!r} is not a posting (it has no message_id)",
                       raw, "upstream")
            if rev.upstream_message_id and rev.upstream_message_id != up.message_id:
                c.fail(f"upstream_message_id does not match revision {up.label}'s message_id",
                       raw, "upstream_message_id")
            rev.upstream_message_id = up.message_id


def find_series(name: str) -> Series:
    """The series called `name`, from the repo's patches/ or the cache."""
    if not NAME_RE.fullmatch(name or ""):
        raise InputError(f"not a series name: {name!r}")
    for root in series_roots():
        if (root / name / MANIFEST).is_file():
            return load_series(root / name / MANIFEST)
    raise InputError(f"no series {name!r}", hint="harness.py series list shows them")


def all_series(errors: list[InputError] | None = None) -> list[Series]:
    """Every series; with `errors`, a bad manifest's error goes there and the
    others are still read (else it raises)."""
    out = []
    for root in series_roots():
        if root.is_dir():
            for m in sorted(root.glob(f"*/{MANIFEST}")):
                try:
                    out.append(load_series(m))
                except InputError as e:
                    if errors is None:
                        raise
                    errors.append(e)
    return out


def parse_spec(spec: str) -> tuple[str, str | None]:
    """'series@rev' -> (series, rev); 'series' -> (series, None). The one parser of
    SERIES[@REV], for every command and file."""
    name, _, rev = str(spec).partition("@")
    if not name or "@" in rev:
        raise UsageError(f"bad series {spec!r}: expected SERIES or SERIES@REV")
    for part in (name, rev) if rev else (name,):
        if not SPEC_RE.fullmatch(part):
            raise UsageError(f"bad series {spec!r}: {part!r} is not a name (letters, digits, "
                             "'.', '_', '+', '-', starting with a letter or digit; no path, "
                             "no line break)")
    return name, rev or None
