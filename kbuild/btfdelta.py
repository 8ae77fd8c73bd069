"""What changed between two kernels' BTF, read from bpftool's C dumps (vmlinux.h),
judged from the side of a BPF object compiled against the older one.

The BPF selftests are CO-RE: libbpf relocates an object's field accesses to the
running kernel's layout at load time. So a member moved, a padding or alignment
changed, or a struct grown is nothing an object compiled earlier cares about;
what it cannot survive is a name it uses going away or changing meaning: a type
or member removed, a member's type changed, an enumerator removed or given a new
value (compiled in as a constant), a typedef or a kfunc prototype changed. Those
are the `breaking` changes; the rest is counted. Whether a breaking change
matters is `reusable`'s question: only if an object kept can see it (its BTF
names the type or kfunc) or, for an enumerator, a BPF source names it."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from common.errors import ParseError

from . import btfobj

ANY = ""        # a Change with this name: no identifier to look for, always matters


@dataclass(frozen=True)
class Change:
    """One breaking change: `name` is the identifier a source would use for it."""
    what: str                           # removed type, removed member, member type, ...
    where: str                          # struct task_struct, enum bpf_map_type, ...
    name: str
    detail: str = ""

    def text(self) -> str:
        tail = f" ({self.detail})" if self.detail else ""
        return f"{self.what} {self.where}" + (f".{self.name}" if self.what in (
            "removed member", "member type") else "") + tail


@dataclass(frozen=True)
class BtfDelta:
    types_added: int = 0
    members_added: int = 0
    arrays_longer: int = 0              # array members whose outer length grew
    enumerators_added: int = 0
    functions_added: int = 0
    breaking: tuple[Change, ...] = ()

    def added(self) -> str:
        """`12 types, 30 members added`, the non-zero counts only, and `2 arrays
        longer` when some array member grew."""
        parts = [f"{n} {w}{'s' if n > 1 else ''}" for n, w in (
            (self.types_added, "type"), (self.members_added, "member"),
            (self.enumerators_added, "enumerator"), (self.functions_added, "kfunc")) if n]
        text = (", ".join(parts) + " added") if parts else "nothing added"
        n = self.arrays_longer
        return text + (f", {n} array{'s' if n > 1 else ''} longer" if n else "")


@dataclass
class Dump:
    """The declarations of one vmlinux.h, keyed for comparison."""
    # "struct foo" / "union foo" / "typedef foo_t" (an inline aggregate) -> members
    aggregates: dict[str, dict[str, str]] = field(default_factory=dict)
    declared: set[str] = field(default_factory=set)     # every named type, forward too
    enumerators: dict[str, int | str] = field(default_factory=dict)
    typedefs: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    other: set[str] = field(default_factory=set)        # statements not understood


_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_ATTR = re.compile(r"__attribute__\s*\(\((?:[^()]|\([^()]*\))*\)\)")
_HEAD = re.compile(r"^(struct|union|enum)\b\s*(\w+)?\s*\{")
_FWD = re.compile(r"^(struct|union|enum)\s+(\w+)$")
_FUNC_PTR = re.compile(r"\(\s*(?:\*\s*(?:const\s+|volatile\s+)?)+(\w+)")
_LAST_NAME = re.compile(r"(\w+)\s*((?:\[[^\]]*\]\s*)*)$")
_FUNC_NAME = re.compile(r"(\w+)\s*\(")
_BITS = re.compile(r"^(.*?)\s*:\s*(\d+)$")
_BASE_WORDS = {"char", "short", "int", "long", "unsigned", "signed", "_Bool"}
_WORD = re.compile(r"[A-Za-z_]\w*")


def parse(text: str) -> Dump:
    """The declarations of a bpftool C dump. Preprocessor lines and comments are
    dropped; a statement of no known shape is kept whole in `other`, so that a
    change in it is still seen. ParseError when the braces do not balance."""
    body = "\n".join(ln for ln in _COMMENT.sub(" ", text).splitlines()
                     if not ln.lstrip().startswith("#"))
    dump = Dump()
    for stmt in _split(body, ";"):
        _statement(_norm(_ATTR.sub(" ", stmt)), dump)
    return dump


def _norm(s: str) -> str:
    return " ".join(s.split())


def _split(text: str, sep: str) -> list[str]:
    """`text` cut at `sep` outside braces and parentheses; empty pieces dropped."""
    out, depth, start = [], 0, 0
    for i, c in enumerate(text):
        if c in "{(":
            depth += 1
        elif c in "})":
            depth -= 1
            if depth < 0:
                raise ParseError("unbalanced braces in the BTF dump")
        elif c == sep and depth == 0:
            out.append(text[start:i])
            start = i + 1
    if depth != 0:
        raise ParseError("unbalanced braces in the BTF dump")
    out.append(text[start:])
    return [s.strip() for s in out if s.strip()]


def _block(stmt: str) -> tuple[str, str | None, str, str]:
    """`struct foo { body } tail` -> (kind, name, body, tail)."""
    m = _HEAD.match(stmt)
    depth, i = 0, m.end() - 1
    for i in range(m.end() - 1, len(stmt)):
        depth += {"{": 1, "}": -1}.get(stmt[i], 0)
        if depth == 0:
            break
    return m.group(1), m.group(2), stmt[m.end():i], stmt[i + 1:].strip()


def _statement(stmt: str, dump: Dump) -> None:
    if stmt.startswith("extern ") and (m := _FUNC_NAME.search(stmt)):
        dump.functions[m.group(1)] = stmt           # `extern struct x *f(...) __ksym`
    elif stmt.startswith("typedef "):
        _typedef(stmt[len("typedef "):], dump)
    elif _HEAD.match(stmt):
        kind, name, body, _ = _block(stmt)
        key = f"{kind} {name}" if name else None
        _type_body(kind, key, body, dump)
    elif m := _FWD.match(stmt):
        dump.declared.add(f"{m.group(1)} {m.group(2)}")
    else:
        dump.other.add(stmt)


def _typedef(decl: str, dump: Dump) -> None:
    """`typedef struct { ... } atomic_t`: its members are kept as the aggregate
    `typedef atomic_t`, and the typedef's text says only `struct {...}`."""
    if _HEAD.match(decl):
        kind, tag, body, tail = _block(decl)
        name, rest = _declarator(tail)
        if name is None:
            dump.other.add("typedef " + decl)
            return
        if tag:
            _type_body(kind, f"{kind} {tag}", body, dump)
            text = f"{kind} {tag} {rest}".strip()
        else:
            _type_body(kind, f"typedef {name}", body, dump)
            text = f"{kind} {{...}} {rest}".strip()
    else:
        name, text = _declarator(decl)
        if name is None:
            dump.other.add("typedef " + decl)
            return
    dump.typedefs[name] = text
    dump.declared.add(f"typedef {name}")


def _type_body(kind: str, key: str | None, body: str, dump: Dump) -> None:
    if key:
        dump.declared.add(key)
    if kind == "enum":
        _enumerators(body, dump)
    elif key:
        members: dict[str, str] = {}
        _members(body, "", members, dump)
        dump.aggregates[key] = members
    else:
        dump.other.add(f"{kind} {{{body}}}")        # an anonymous top-level aggregate


def _enumerators(body: str, dump: Dump) -> None:
    for item in _split(body, ","):
        name, _, value = item.partition("=")
        dump.enumerators[name.strip()] = _value(value.strip())


def _value(text: str) -> int | str:
    """An enumerator's value as a number (`4294967295ULL` is 4294967295), or the
    text when it is not a plain literal."""
    try:
        return int(text.rstrip("uUlL"), 0)
    except ValueError:
        return text


def _members(body: str, prefix: str, members: dict[str, str], dump: Dump) -> None:
    """Members by access path: an anonymous struct or union's members are the
    parent's (`foo.b`, as C reads them), a named inline one's go under its name
    (`foo.named.x`). Padding (`long: 64`) is layout, not a member."""
    for decl in _split(body, ";"):
        if _HEAD.match(decl):
            kind, tag, inner, tail = _block(decl)
            name, rest = _declarator(tail) if tail else (None, "")
            if kind == "enum":
                _enumerators(inner, dump)
            elif tag:
                _type_body(kind, f"{kind} {tag}", inner, dump)
            if name is None:
                if kind != "enum" and not tag:
                    _members(inner, prefix, members, dump)
                continue
            members[prefix + name] = f"{kind} {tag or '{...}'} {rest}".strip()
            if kind != "enum" and not tag:
                _members(inner, prefix + name + ".", members, dump)
        else:
            name, text = _declarator(decl)
            if name is not None:
                members[prefix + name] = text


def _declarator(decl: str) -> tuple[str | None, str]:
    """(name, type text with the name taken out) of one declaration: `char
    comm[16]` -> (comm, `char [16]`), `int (*fn)(int)` -> (fn, `int (*)(int)`),
    `u8 x: 1` -> (x, `u8 : 1`), `void f_t(int)` -> (f_t, `void (int)`); (None,
    ...) for padding or no name."""
    bits = ""
    if m := _BITS.match(decl):
        decl, bits = m.group(1), f" : {m.group(2)}"
    m = _FUNC_PTR.search(decl) or _LAST_NAME.search(decl)
    if m is None and decl.endswith(")"):          # a function type: `void f_t(int)`
        m = _FUNC_NAME.search(decl)
    if m is None or m.group(1) in _BASE_WORDS:
        return None, _norm(decl + bits)
    text = decl[:m.start(1)] + decl[m.end(1):]
    return m.group(1), _norm(text + bits)


def compare(old_text: str, new_text: str) -> BtfDelta:
    """The difference from the old dump to the new one (ParseError if either
    cannot be read)."""
    old, new = parse(old_text), parse(new_text)
    breaking: list[Change] = []
    members_added = arrays_longer = 0
    for key, was in old.aggregates.items():
        now = new.aggregates.get(key)
        if now is None:
            if key in new.declared:     # only a forward declaration left: opaque now
                breaking += [Change("removed member", key, _leaf(m), "no definition")
                             for m in was]
            continue
        members_added += sum(m not in was for m in now)
        for m, t in was.items():
            if m not in now:
                breaking.append(Change("removed member", key, _leaf(m)))
            elif now[m] != t and longer_array(t, now[m]):
                arrays_longer += 1
            elif now[m] != t:
                breaking.append(Change("member type", key, _leaf(m), f"{t} -> {now[m]}"))
    # a type only declared before and defined now: its members are new ones
    members_added += sum(len(m) for k, m in new.aggregates.items()
                         if k not in old.aggregates and k in old.declared)
    breaking += [Change("removed type", k, k.split()[-1])
                 for k in sorted(old.declared - new.declared)]
    for name, t in old.typedefs.items():
        if name in new.typedefs and new.typedefs[name] != t:
            breaking.append(Change("typedef", name, name, f"{t} -> {new.typedefs[name]}"))
    for name, v in old.enumerators.items():
        if name not in new.enumerators:
            breaking.append(Change("removed enumerator", name, name))
        elif new.enumerators[name] != v:
            breaking.append(Change("enumerator value", name, name,
                                   f"{v} -> {new.enumerators[name]}"))
    for name, t in old.functions.items():
        if new.functions.get(name) != t:
            breaking.append(Change("removed kfunc" if name not in new.functions
                                   else "kfunc prototype", name, name))
    breaking += [Change("declaration", s[:60], ANY) for s in sorted(old.other - new.other)]
    return BtfDelta(types_added=len(new.declared - old.declared),
                    members_added=members_added, arrays_longer=arrays_longer,
                    enumerators_added=len(new.enumerators.keys() - old.enumerators.keys()),
                    functions_added=len(new.functions.keys() - old.functions.keys()),
                    breaking=tuple(breaking))


# a member's type text as the dump gives it: `atomic_long_t [10]`, `int [3][4]`
_ARRAY = re.compile(r"^(.*?)\s*\[(\d+)\]((?:\s*\[\d+\])*)$")


def longer_array(was: str, now: str) -> bool:
    """An array member whose outer length grew, the element type and any inner
    lengths the same: an object indexes it by the element's size, which has not
    changed, and libbpf relocates the member's offset and those after it (enabling
    fanotify grows `struct ucounts`' `ucount[10]` to `[12]`, Landlock `struct
    lsm_static_calls_table`'s members from `[4]` to `[5]`). An inner length or a
    shorter array changes where elements are, or drops them, so either breaks."""
    a, b = _ARRAY.match(was), _ARRAY.match(now)
    return bool(a and b and (a.group(1), a.group(3)) == (b.group(1), b.group(3))
                and int(b.group(2)) > int(a.group(2)))


def _leaf(path: str) -> str:
    return path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Verdict:
    reusable: bool
    reasons: tuple[Change, ...] = ()    # the breaking changes a kept object can see


# Changes an object compiled against the old dump shows in its own BTF when they
# can touch it: vmlinux.h applies preserve_access_index to every struct and union,
# so each type an object reaches a member through (every link of a chain) is in
# the object's BTF, and so is each kfunc it calls (an extern func). An enumerator
# leaves no trace (its value is compiled in), nor does a declaration not understood.
BY_OBJECT = frozenset({"removed member", "member type", "removed type", "typedef",
                       "removed kfunc", "kfunc prototype"})


MEMBER = frozenset({"removed member", "member type"})


def btf_name(c: Change) -> str:
    """The name an object's BTF holds when `c` can touch it: the aggregate's for a
    member change (`struct lsm_static_calls_table` for its `inode_unlink`), the
    change's own otherwise."""
    if c.what in MEMBER:
        return c.where.split()[-1]
    return c.name


def reusable(delta: BtfDelta, sources: Iterable[Path], objects: Iterable[Path]) -> Verdict:
    """Objects compiled against the old dump stay good unless a breaking change can
    reach one of them. A member change matters when some kept object's BTF defines
    the struct or union (btfobj: an access into it needs the definition; a struct
    only pointed through is a FWD there); a type, typedef or kfunc change when some
    kept object's strings hold the type's or kfunc's name (its BTF names every type
    it reads and every kfunc it calls). Member names alone are not enough: a source
    saying `inode_unlink` may mean the LSM hook, not the member of the same name in
    `struct lsm_static_calls_table`, which no object reads. An enumerator matters
    when some BPF source spells it as a whole word (comments count too: this errs
    towards rebuilding), and a declaration not understood always does. Going back
    from a series kernel to its base, the series' own types disappear, and no kept
    object or source left names them."""
    if not delta.breaking:
        return Verdict(True)
    by_obj = {c for c in delta.breaking if c.what in BY_OBJECT and c.name != ANY}
    members = {c for c in by_obj if c.what in MEMBER}
    named, defined = (object_names({btf_name(c) for c in by_obj - members},
                                   {btf_name(c) for c in members}, objects)
                      if by_obj else (set(), set()))
    words = _source_words(sources) if len(by_obj) < len(delta.breaking) else set()

    def matters(c: Change) -> bool:
        if c in members:
            return btf_name(c) in defined
        if c in by_obj:
            return btf_name(c) in named
        return c.name == ANY or c.name in words
    hits = tuple(c for c in delta.breaking if matters(c))
    return Verdict(not hits, hits)


def object_names(names: set[str], aggregates: set[str], objects: Iterable[Path]
                 ) -> tuple[set[str], set[str]]:
    """Which of `names` some object holds as a NUL-delimited string (a BTF string
    table entry; a symbol or a string constant of the same spelling counts too,
    which only errs towards rebuilding), and which of `aggregates` some object's
    BTF defines: (names held, aggregates defined). An object whose BTF cannot be
    read counts an aggregate by its name, as for `names`."""
    want = {n.encode() for n in names}
    found: set[bytes] = set()
    defined: set[str] = set()
    for p in objects:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        held = set(data.split(b"\0"))
        found |= want & held
        if aggregates - defined:
            try:
                defined |= aggregates & btfobj.defined_aggregates(data, str(p))
            except ParseError:
                defined |= {a for a in aggregates if a.encode() in held}
        if found == want and defined == aggregates:
            break
    return {n.decode() for n in found}, defined


def _source_words(sources: Iterable[Path]) -> set[str]:
    words: set[str] = set()
    for p in sources:
        try:
            words.update(_WORD.findall(p.read_text(errors="replace")))
        except OSError:
            continue
    return words
