"""Safe YAML loading that keeps line numbers, for errors that name file and line."""
from __future__ import annotations

import math
from pathlib import Path
from typing import NoReturn

import yaml

from .errors import InputError


class Located(dict):
    """A mapping that remembers the line of each key (1-based) and its own line."""

    line: int = 0
    key_lines: dict


class LocatedList(list):
    line: int = 0


def _convert(node, path: str):
    if isinstance(node, yaml.MappingNode):
        out = Located()
        out.line = node.start_mark.line + 1
        out.key_lines = {}
        for k, v in node.value:
            key = _convert(k, path)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise InputError("mapping keys must be plain scalars", path=path,
                                 line=k.start_mark.line + 1)
            if key in out:
                raise InputError(f"duplicate key '{key}'", path=path, line=k.start_mark.line + 1)
            out[key] = _convert(v, path)
            out.key_lines[key] = k.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        lst = LocatedList(_convert(v, path) for v in node.value)
        lst.line = node.start_mark.line + 1
        return lst
    if node.tag == "tag:yaml.org,2002:str":
        return node.value
    try:
        return yaml.safe_load(yaml.serialize(node))
    except (ValueError, yaml.YAMLError) as e:
        raise InputError(f"bad value: {e} (got {node.value!r})", path=path,
                         line=node.start_mark.line + 1) from None


MAX_DEPTH = 64   # nesting levels of mappings and sequences


def _check_events(text: str, path: str) -> None:
    """Refuse anchors and aliases (no shipped YAML uses them; an alias bomb
    expands exponentially) and nesting deeper than MAX_DEPTH, from the parser's
    events, before anything is built."""
    depth = 0
    for ev in yaml.parse(text, Loader=yaml.SafeLoader):
        line = ev.start_mark.line + 1
        if isinstance(ev, yaml.AliasEvent) or getattr(ev, "anchor", None):
            raise InputError("YAML anchors and aliases (&name, *name, <<) are not allowed",
                             path=path, line=line)
        if isinstance(ev, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(f"nested more than {MAX_DEPTH} levels deep",
                                 path=path, line=line)
        elif isinstance(ev, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from e
    except UnicodeDecodeError as e:
        raise InputError(f"not UTF-8: byte 0x{e.object[e.start]:02x} at offset {e.start}",
                         path=path) from None


def load_yaml(path: Path | str):
    """Parse with the safe loader's resolver; mappings come back as Located."""
    path = str(path)
    text = _read(path)
    try:
        _check_events(text, path)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        msg = getattr(e, "problem", None) or str(e)
        raise InputError(f"YAML syntax error: {msg}", path=path, line=line) from e
    if node is None:
        raise InputError("empty YAML file", path=path)
    return _convert(node, path)


def line_of(obj, key=None) -> int | None:
    if key is not None and isinstance(obj, Located):
        return obj.key_lines.get(key, obj.line)
    return getattr(obj, "line", None)


class Schema:
    """Checks the values of one YAML file as they are read; every error names the
    file and the line of the offending key (InputError). The one schema checker of
    the manifests, suite files and tree definitions."""

    def __init__(self, path):
        self.path = str(path)

    def fail(self, msg: str, node=None, key=None, hint: str | None = None) -> NoReturn:
        raise InputError(msg, path=self.path, line=line_of(node, key), hint=hint)

    def mapping(self, node, what: str, parent=None, key=None,
                keys: set[str] | None = None) -> Located:
        """`node` as a mapping (an error at `parent`'s `key` otherwise); with `keys`,
        no other key is allowed."""
        if not isinstance(node, Located):
            self.fail(f"{what} must be a mapping", parent if parent is not None else node, key)
        if keys is not None:
            self.keys(node, keys, what)
        return node

    def keys(self, node: Located, allowed: set[str], what: str) -> None:
        for k in node:
            if k not in allowed:
                self.fail(f"unknown key '{k}' in {what} (allowed: {', '.join(sorted(allowed))})",
                          node, k)

    def string(self, node: Located, key: str, *, required=False, pattern=None, what=""):
        if key not in node:
            if required:
                self.fail(f"missing required key '{key}'{what}", node)
            return None
        val = node[key]
        if not isinstance(val, str) or not val.strip():
            self.fail(f"'{key}' must be a non-empty string (quote it if YAML reads it "
                      "as something else)", node, key)
        if pattern is not None and not pattern.match(val):
            self.fail(f"'{key}': {val!r} is not valid", node, key)
        return val

    def strings(self, node: Located, key: str, pattern=None, scalar_ok=False) -> list[str]:
        """A list of non-empty strings (a single string too, with scalar_ok)."""
        if key not in node:
            return []
        val = node[key]
        if scalar_ok and isinstance(val, str):
            val = [val]
        if not isinstance(val, list):
            self.fail(f"'{key}' must be a list of non-empty strings", node, key)
        for item in val:
            if not isinstance(item, str) or not item.strip() or (
                    pattern is not None and not pattern.match(item)):
                self.fail(f"'{key}': {item!r} is not valid (a list of non-empty strings)",
                          node, key)
        return list(val)

    def number(self, node: Located, key: str, default, *, integer=False, minimum=0,
               maximum=None):
        """A finite number (an integer with integer=True) in [minimum, maximum]."""
        if key not in node:
            return default
        val = node[key]
        kinds = (int,) if integer else (int, float)
        if isinstance(val, bool) or not isinstance(val, kinds) or not math.isfinite(val) \
                or val < minimum or (maximum is not None and val > maximum):
            kind = "an integer" if integer else "a number"
            top = f" and <= {maximum}" if maximum is not None else ""
            self.fail(f"'{key}' must be {kind} >= {minimum}{top}", node, key)
        return val
