"""Safe YAML loading that keeps line numbers, for errors that name file and line."""
from __future__ import annotations

from pathlib import Path

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


def load_yaml(path: Path | str):
    """Parse with the safe loader's resolver; mappings come back as Located."""
    path = str(path)
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=path) from e
    try:
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
