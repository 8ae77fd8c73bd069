"""A small Kconfig reader: where each symbol is defined, what it depends on
(its own `depends on`, the enclosing `if`/`menu`/`choice` blocks, the prompt's
`if`), and who selects it. Follows `source` from the top-level Kconfig with
SRCARCH substituted, so conditions around a `source` reach the sourced file."""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ENTRY_KW = ("config", "menuconfig")
TYPES = ("bool", "tristate", "string", "int", "hex", "def_bool", "def_tristate")
SOURCE_KW = ("source", "osource", "rsource", "orsource")
# A `$(...)` in a symbol's type, default or depends line asks the toolchain
# ($(cc-option,...), $(success,...), $(CC_VERSION_TEXT), $(shell,...)); these name
# the arch or the tree instead.
NOT_TOOLCHAIN_MACROS = ("$(SRCARCH)", "$(ARCH)", "$(HEADER_ARCH)", "$(srctree)")

SRCARCH = {"x86_64": "x86", "i386": "x86", "x86": "x86", "aarch64": "arm64",
           "arm64": "arm64", "riscv64": "riscv", "riscv": "riscv", "s390x": "s390",
           "s390": "s390", "ppc64le": "powerpc", "powerpc": "powerpc"}


@dataclass
class Definition:
    symbol: str
    path: str                   # relative to the tree
    line: int
    type: str = ""
    has_prompt: bool = False
    depends: list[str] = field(default_factory=list)
    prompt_if: list[str] = field(default_factory=list)
    enclosing: list[tuple[str, str]] = field(default_factory=list)   # (what, expr)
    in_choice: str | None = None


@dataclass
class Selector:
    by: str                     # the selecting symbol
    cond: str | None            # `select X if cond`
    path: str
    line: int
    kind: str = "select"        # select or imply


@dataclass
class _Block:
    kind: str                   # if, menu, choice
    where: str
    conds: list[str] = field(default_factory=list)


def _logical_lines(text: str):
    """(line number, text) with backslash continuations joined."""
    buf, start = "", 0
    for n, raw in enumerate(text.splitlines(), 1):
        if not buf:
            start = n
        if raw.endswith("\\"):
            buf += raw[:-1] + " "
            continue
        yield start, buf + raw
        buf = ""
    if buf:
        yield start, buf


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i]
    return line


def _asks_toolchain(word: str, rest: str) -> bool:
    """A type/default/depends line whose value comes from a Kconfig macro that runs
    the toolchain."""
    if word not in TYPES + ("default", "depends") or "$(" not in rest:
        return False
    for m in NOT_TOOLCHAIN_MACROS:
        rest = rest.replace(m, "")
    return "$(" in rest


def _indent(line: str) -> int:
    return len(line.expandtabs(8)) - len(line.expandtabs(8).lstrip())


def _split_if(rest: str) -> tuple[str, str | None]:
    """Split `"prompt" if EXPR` / `SYM if EXPR` at the top-level ` if `."""
    m = re.search(r'(^|\s)if\s+(?=(?:[^"]*"[^"]*")*[^"]*$)', rest)
    if not m:
        return rest.strip(), None
    return rest[:m.start()].strip(), rest[m.end():].strip()


class KconfigTree:
    """Parsed Kconfig of one source tree for one arch."""

    def __init__(self, tree: Path, arch: str = "x86_64"):
        self.tree = Path(tree)
        self.srcarch = SRCARCH.get(arch, arch)
        self.defs: dict[str, list[Definition]] = {}
        self.selectors: dict[str, list[Selector]] = {}
        self.toolchain_defined: set[str] = set()   # values that come from $(...) macros
        self.files: list[str] = []
        self._seen: set[Path] = set()
        top = self.tree / "Kconfig"
        if top.is_file():
            self._parse_file(top, [])

    # -- reading --------------------------------------------------------
    def _subst(self, s: str) -> str:
        for var in ("SRCARCH", "HEADER_ARCH", "ARCH"):
            s = s.replace(f"$({var})", self.srcarch)
        return s

    def _source(self, kw: str, arg: str, here: Path, stack: list[_Block]) -> None:
        arg = self._subst(arg.strip().strip('"'))
        base = here.parent if kw in ("rsource", "orsource") else self.tree
        for p in sorted(glob.glob(str(base / arg))) if "*" in arg else [str(base / arg)]:
            path = Path(p)
            if path.is_file():
                self._parse_file(path, stack)

    def _parse_file(self, path: Path, stack: list[_Block]) -> None:
        real = path.resolve()
        if real in self._seen:
            return
        self._seen.add(real)
        rel = os.path.relpath(path, self.tree)
        self.files.append(rel)
        try:
            text = path.read_text(errors="replace")
        except OSError:
            return
        self._parse_text(text, rel, path, list(stack))

    def _parse_text(self, text: str, rel: str, path: Path, stack: list[_Block]) -> None:
        cur: Definition | None = None
        block_for_deps: _Block | None = None
        help_indent: int | None = None
        help_min: int | None = None
        for lineno, raw in _logical_lines(text):
            if help_indent is not None:
                if not raw.strip():
                    continue
                ind = _indent(raw)
                if help_min is None:
                    help_min = ind
                if ind >= help_min and ind > help_indent:
                    continue
                help_indent = help_min = None
            line = _strip_comment(raw).strip()
            if not line:
                continue
            parts = line.split(None, 1)
            word, rest = parts[0], (parts[1].strip() if len(parts) > 1 else "")
            if cur is not None and _asks_toolchain(word, rest):
                self.toolchain_defined.add(cur.symbol)
            if word in ENTRY_KW:
                cur = self._new_def(rest, rel, lineno, stack)
                block_for_deps = None
            elif word in ("menu", "choice", "if"):
                blk = _Block(word, f"{rel}:{lineno}")
                if word == "if":
                    blk.conds.append(" ".join(rest.split()))
                stack.append(blk)
                cur = None
                block_for_deps = blk if word != "if" else None
            elif word in ("endmenu", "endchoice", "endif"):
                if stack:
                    stack.pop()
                cur = block_for_deps = None
            elif word == "comment" or word == "mainmenu":
                cur = block_for_deps = None
            elif word in SOURCE_KW:
                self._source(word, rest, path, stack)
                cur = block_for_deps = None
            elif word == "depends" and rest.startswith("on"):
                expr = " ".join(rest[2:].split())
                if cur is not None:
                    cur.depends.append(expr)
                elif block_for_deps is not None:
                    block_for_deps.conds.append(expr)
            elif word == "visible" and rest.startswith("if") and block_for_deps is not None:
                block_for_deps.conds.append(rest[2:].strip())
            elif word in ("help", "---help---"):
                help_indent = _indent(raw)
            elif cur is not None:
                self._attribute(cur, word, rest, rel, lineno)

    def _new_def(self, name: str, rel: str, lineno: int, stack: list[_Block]) -> Definition:
        name = name.split()[0] if name else ""
        d = Definition(name, rel, lineno)
        for blk in stack:
            for c in blk.conds:
                d.enclosing.append((f"{blk.kind} at {blk.where}", c))
            if blk.kind == "choice":
                d.in_choice = blk.where
        self.defs.setdefault(name, []).append(d)
        return d

    def _attribute(self, cur: Definition, word: str, rest: str, rel: str, lineno: int) -> None:
        if word in TYPES:
            cur.type = word.replace("def_", "")
            prompt, cond = _split_if(rest)
            if word in ("bool", "tristate", "string", "int", "hex") and prompt.startswith('"'):
                cur.has_prompt = True
                if cond:
                    cur.prompt_if.append(cond)
        elif word == "prompt":
            cur.has_prompt = True
            _, cond = _split_if(rest)
            if cond:
                cur.prompt_if.append(cond)
        elif word in ("select", "imply"):
            target, cond = _split_if(rest)
            if target:
                self.selectors.setdefault(target, []).append(
                    Selector(cur.symbol, cond, rel, lineno, word))

    # -- queries --------------------------------------------------------
    def defined(self, symbol: str) -> bool:
        return symbol in self.defs

    def symbols(self) -> list[str]:
        return sorted(self.defs)

    def defined_elsewhere(self, symbol: str) -> list[str]:
        """Kconfig files outside this arch's source graph that define `symbol`."""
        pat = re.compile(rf"^\s*(menu)?config\s+{re.escape(symbol)}\s*$", re.M)
        hits = []
        for p in sorted(self.tree.glob("**/Kconfig*")):
            rel = os.path.relpath(p, self.tree)
            if rel in self.files or not p.is_file():
                continue
            try:
                if pat.search(p.read_text(errors="replace")):
                    hits.append(rel)
            except OSError:
                continue
        return hits
