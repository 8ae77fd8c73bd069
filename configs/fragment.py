"""Config fragments: parse `.config` snippets and render `.config.j2` templates.

A fragment line is one of: blank, `# comment`, `# CONFIG_X is not set`,
`CONFIG_X=<value>` with value y, m, n, a quoted string, a decimal or a hex number.
Anything else is an InputError naming the file and line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError

SYM_RE = re.compile(r"^CONFIG_([A-Za-z0-9_]+)=(.*)$")
NOT_SET_RE = re.compile(r"^# CONFIG_([A-Za-z0-9_]+) is not set\s*$")
VALUE_RE = re.compile(r'^(y|m|n|-?[0-9]+|0x[0-9a-fA-F]+|"(?:[^"\\]|\\.)*")$')


@dataclass(frozen=True)
class Setting:
    """One requested symbol value, with where it came from."""
    symbol: str          # without the CONFIG_ prefix
    value: str           # y, m, n, "quoted", 123, 0x1f
    path: str
    line: int

    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Fragment:
    name: str
    path: str
    settings: list[Setting] = field(default_factory=list)


def parse_fragment_text(text: str, path: str, name: str | None = None) -> Fragment:
    """Parse fragment text; `path` is used in errors and in each Setting."""
    frag = Fragment(name=name or Path(path).name, path=path)
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        m = NOT_SET_RE.match(line)
        if m:
            frag.settings.append(Setting(m.group(1), "n", path, lineno))
            continue
        if line.startswith("#"):
            continue
        m = SYM_RE.match(line)
        if not m:
            raise InputError(f"not a config line: {raw!r}", path=path, line=lineno,
                             hint="expected CONFIG_NAME=value or '# CONFIG_NAME is not set'")
        value = m.group(2).strip()
        if not VALUE_RE.match(value):
            raise InputError(f"bad value for CONFIG_{m.group(1)}: {value!r}", path=path,
                             line=lineno, hint='values are y, m, n, "string", or a number')
        frag.settings.append(Setting(m.group(1), value, path, lineno))
    return frag


def read_fragment(path: Path) -> str:
    """A fragment's text (UTF-8); unreadable or not UTF-8 is an InputError."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read fragment: {e.strerror}", path=str(path)) from e
    except UnicodeDecodeError as e:
        raise InputError(f"fragment is not UTF-8: byte 0x{e.object[e.start]:02x} at offset "
                         f"{e.start}", path=str(path)) from None


def render_template(path: Path, params: dict) -> str:
    """Render a jinja2 fragment template; undefined parameters are errors."""
    import jinja2
    from jinja2.sandbox import SandboxedEnvironment

    # A template can come with a series (manifest `fragments:`): it renders sandboxed,
    # so it reads its parameters and cannot reach Python (no attributes like __class__).
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                               autoescape=False)
    text = read_fragment(path)
    try:
        return env.from_string(text).render(**params)
    except jinja2.TemplateSyntaxError as e:
        raise InputError(f"template syntax error: {e.message}", path=str(path),
                         line=e.lineno) from e
    except jinja2.UndefinedError as e:
        raise InputError(f"template error: {e.message}", path=str(path),
                         hint=f"known parameters: {', '.join(sorted(params))}") from e
    except jinja2.sandbox.SecurityError as e:
        raise InputError(f"template refused by the sandbox: {e}", path=str(path)) from None


def load_fragment(path: Path, params: dict, name: str | None = None) -> Fragment:
    """Read a `.config` fragment, or render then parse a `.config.j2` one."""
    path = Path(path)
    if path.name.endswith(".j2"):
        text = render_template(path, params)
    else:
        text = read_fragment(path)
    return parse_fragment_text(text, str(path), name)
