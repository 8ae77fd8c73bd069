"""Kconfig expressions: parse, evaluate over .config values (n=0, m=1, y=2),
and render with the unmet terms marked."""
from __future__ import annotations

import re
from dataclasses import dataclass

from common.errors import ParseError

TOKEN_RE = re.compile(r"""\s*(?:
    (?P<op>&&|\|\||!=|<=|>=|[!=<>()])
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<macro>\$\()
  | (?P<word>[A-Za-z0-9_.+-]+)
)""", re.X)

TRI = {"n": 0, "m": 1, "y": 2}
NAMES = {0: "n", 1: "m", 2: "y"}


@dataclass
class Node:
    kind: str                 # sym, const, macro, cmp, not, and, or
    text: str = ""            # name / literal / macro text / comparison operator
    kids: tuple = ()


def tokenize(text: str) -> list[tuple[str, str]]:
    toks: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = TOKEN_RE.match(text, pos)
        if not m:
            raise ParseError(f"bad Kconfig expression near {text[pos:pos + 20]!r}")
        if m.group("macro"):
            end = _macro_end(text, m.end())
            toks.append(("macro", text[m.start("macro"):end]))
            pos = end
            continue
        kind = next(k for k in ("op", "str", "word") if m.group(k) is not None)
        toks.append((kind, m.group(kind)))
        pos = m.end()
    return toks


def _macro_end(text: str, pos: int) -> int:
    depth = 1
    while pos < len(text) and depth:
        depth += {"(": 1, ")": -1}.get(text[pos], 0)
        pos += 1
    if depth:
        raise ParseError(f"unbalanced $( in {text!r}")
    return pos


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.toks = tokenize(text)
        self.i = 0

    def peek(self) -> str | None:
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise ParseError(f"Kconfig expression ends early: {self.text!r}")
        self.i += 1
        return self.toks[self.i - 1]

    def parse(self) -> Node:
        node = self.or_()
        if self.i != len(self.toks):
            raise ParseError(f"unexpected {self.peek()!r} in Kconfig expression {self.text!r}")
        return node

    def or_(self) -> Node:
        kids = [self.and_()]
        while self.peek() == "||":
            self.take()
            kids.append(self.and_())
        return kids[0] if len(kids) == 1 else Node("or", kids=tuple(kids))

    def and_(self) -> Node:
        kids = [self.not_()]
        while self.peek() == "&&":
            self.take()
            kids.append(self.not_())
        return kids[0] if len(kids) == 1 else Node("and", kids=tuple(kids))

    def not_(self) -> Node:
        if self.peek() == "!":
            self.take()
            return Node("not", kids=(self.not_(),))
        return self.primary()

    def primary(self) -> Node:
        kind, val = self.take()
        if kind == "op" and val == "(":
            node = self.or_()
            if self.take()[1] != ")":
                raise ParseError(f"missing ) in Kconfig expression {self.text!r}")
            return node
        left = self.atom(kind, val)
        if self.peek() in ("=", "!=", "<", "<=", ">", ">="):
            op = self.take()[1]
            right = self.atom(*self.take())
            return Node("cmp", op, (left, right))
        return left

    def atom(self, kind: str, val: str) -> Node:
        if kind == "str":
            return Node("const", val[1:-1])
        if kind == "macro":
            return Node("macro", val)
        if kind == "word":
            if val in TRI or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", val):
                return Node("const", val)
            return Node("sym", val)
        raise ParseError(f"unexpected {val!r} in Kconfig expression {self.text!r}")


def parse_expr(text: str) -> Node:
    return _Parser(text).parse()


def _raw(node: Node, values: dict[str, str]) -> str:
    """The string value of an atom, as Kconfig compares it."""
    if node.kind == "sym":
        v = values.get(node.text, "n")
        return v[1:-1] if v.startswith('"') else v
    return node.text


def _compare(op: str, a: str, b: str) -> bool:
    try:
        x, y = int(a, 0), int(b, 0)
    except ValueError:
        x, y = a, b
    return {"=": x == y, "!=": x != y, "<": x < y, "<=": x <= y,
            ">": x > y, ">=": x >= y}[op]


def evaluate(node: Node, values: dict[str, str]) -> int:
    """Tristate value 0/1/2. Macros ($(...)) cannot be evaluated here: taken as y."""
    k = node.kind
    if k == "sym":
        return TRI.get(values.get(node.text, "n"), 0)
    if k == "const":
        return TRI.get(node.text, 0)
    if k == "macro":
        return 2
    if k == "cmp":
        return 2 if _compare(node.text, _raw(node.kids[0], values),
                             _raw(node.kids[1], values)) else 0
    if k == "not":
        return 2 - evaluate(node.kids[0], values)
    if k == "and":
        return min(evaluate(c, values) for c in node.kids)
    return max(evaluate(c, values) for c in node.kids)


def unmet_terms(node: Node, values: dict[str, str], need: int = 2) -> list[Node]:
    """The smallest terms that keep `node` below `need`."""
    if evaluate(node, values) >= need:
        return []
    if node.kind == "and":
        return [t for c in node.kids for t in unmet_terms(c, values, need)]
    if node.kind == "or":
        return [t for c in node.kids for t in unmet_terms(c, values, need)]
    return [node]


def render(node: Node, values: dict[str, str], unmet: list[Node] | None = None,
           top: bool = True) -> str:
    """Expression text with [=value] after each symbol and <<...>> around unmet terms."""
    marked = any(node is u for u in unmet or [])
    k = node.kind
    if k == "sym":
        text = f"{node.text} [={values.get(node.text, 'n')}]"
    elif k == "const":
        text = f'"{node.text}"' if node.text not in TRI and not node.text.isdigit() \
            else node.text
    elif k == "macro":
        text = f"{node.text} [=?]"
    elif k == "cmp":
        text = (f"{render(node.kids[0], values, None, False)} {node.text} "
                f"{render(node.kids[1], values, None, False)}")
    elif k == "not":
        text = "!" + render(node.kids[0], values, unmet, False)
    else:
        sep = " && " if k == "and" else " || "
        text = sep.join(render(c, values, unmet, False) for c in node.kids)
        if not top:
            text = f"({text})"
    return f"<<{text}>>" if marked else text


def term_text(node: Node, values: dict[str, str]) -> str:
    return render(node, values, None, True)


def conj(texts: list[str]) -> str:
    """AND together expression texts, each parenthesised."""
    return " && ".join(f"({t})" for t in texts)
