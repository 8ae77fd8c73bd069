"""Check every requested symbol against the final .config and explain misses
with the Kconfig dependency expressions, unmet terms marked."""
from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass, field

from common.errors import ParseError

from .fragment import Setting
from .kconfig import Definition, KconfigTree
from .kexpr import TRI, evaluate, parse_expr, render, term_text, unmet_terms
from .merge import final_value

OK, DROPPED, CHANGED, UNDEFINED = "ok", "dropped", "changed", "undefined"
NO_EFFECT = "no-effect"      # `n` asked for a symbol no Kconfig defines
OVERRIDDEN = "overridden"    # a choice member lost to another member asked for later
TOOLCHAIN = "toolchain"      # a whole .config's symbol the compiler decides: left out
ABSENT = "not-in-tree"       # a whole .config's symbol this tree has no Kconfig for

# Symbols the compiler decides even where the Kconfig reader cannot see the macro.
TOOLCHAIN_NAMES = re.compile(
    r"^(?:(?:CC|GCC|CLANG|AS|LD|LLD|RUSTC|BINDGEN|PAHOLE)_VERSION(?:_TEXT)?|"
    r"(?:CC|AS|LD)_IS_\w+|CC_CAN_LINK\w*|(?:CC|AS|LD)_HAS_\w+|TOOLCHAIN_HAS_\w+|"
    r"RUSTC_\w*VERSION\w*)$")
SYMBOL = re.compile(r"\b[A-Z][A-Z0-9_]*\b")


@dataclass
class SymbolCheck:
    symbol: str
    requested: str
    final: str
    where: str                       # fragment file:line that asked for it
    status: str                      # ok, dropped, changed, undefined, no-effect
    allowed: bool = False            # --allow-drop accepted the miss
    explain: list[str] = field(default_factory=list)
    unmet: list[str] = field(default_factory=list)
    close_matches: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status in (DROPPED, CHANGED, UNDEFINED) and not self.allowed

    def to_dict(self) -> dict:
        d = asdict(self)
        d["failed"] = self.failed
        return d


def same_value(requested: str, final: str) -> bool:
    if requested == final:
        return True
    try:
        return int(requested, 0) == int(final, 0)
    except ValueError:
        return False


def compare(requested: dict[str, Setting], values: dict[str, str],
            allow_drop: set[str]) -> list[SymbolCheck]:
    """One SymbolCheck per requested symbol, before any Kconfig explanation."""
    checks = []
    for sym, st in requested.items():
        fin = final_value(values, sym)
        if same_value(st.value, fin):
            status = OK
        elif fin == "n" and st.value in ("y", "m"):
            status = DROPPED
        else:
            status = CHANGED
        checks.append(SymbolCheck(sym, st.value, fin, st.where(), status,
                                  allowed=sym in allow_drop and status != OK))
    return checks


def whole_config_checks(checks: list[SymbolCheck], tree: KconfigTree,
                        values: dict[str, str]) -> None:
    """For a whole .config (a robot's): a symbol this tree has no Kconfig for is
    ABSENT (named, not failed: the config came from another tree), and a miss the
    compiler decides is TOOLCHAIN (named, not failed): the symbol's value comes from
    a toolchain macro (CC_VERSION_TEXT, GCC_VERSION, CC_HAS_*, ...), or every unmet
    term of its dependencies is such a symbol, or follows from one."""
    for c in checks:
        if c.status != OK and not tree.defined(c.symbol):
            c.status, c.allowed = ABSENT, False
            c.explain.append("no Kconfig of this tree defines it")
    rest = [c for c in checks if c.status not in (OK, ABSENT)]
    explain(rest, tree, values)
    derived = set(tree.toolchain_defined)
    derived |= {c.symbol for c in checks if TOOLCHAIN_NAMES.match(c.symbol)}
    changed = True
    while changed:
        changed = False
        for c in rest:
            if c.status in (OK, ABSENT, TOOLCHAIN, NO_EFFECT):
                continue
            why = _toolchain_reason(c, derived, tree)
            if why:
                c.status, c.allowed = TOOLCHAIN, False
                c.explain.append(why)
                derived.add(c.symbol)
                changed = True


def _toolchain_reason(c: SymbolCheck, derived: set[str], tree: KconfigTree) -> str | None:
    if c.symbol in derived:
        return "the compiler decides it (a toolchain macro in its Kconfig)"
    unmet = {m for t in c.unmet for m in SYMBOL.findall(t) if tree.defined(m)}
    if unmet and unmet <= derived:
        return ("it follows " + ", ".join(f"CONFIG_{m}" for m in sorted(unmet))
                + ", which the compiler decides")
    return None


def explain(checks: list[SymbolCheck], tree: KconfigTree, values: dict[str, str]) -> None:
    """Fill in explanations; a missed symbol no Kconfig defines becomes UNDEFINED,
    a requested `n` for an undefined symbol becomes NO_EFFECT."""
    names = tree.symbols()
    for c in checks:
        if not tree.defined(c.symbol):
            if c.status == OK and c.requested != "n":
                continue
            c.status = UNDEFINED if c.status != OK else NO_EFFECT
            c.close_matches = difflib.get_close_matches(c.symbol, names, n=3, cutoff=0.75)
            elsewhere = tree.defined_elsewhere(c.symbol) if c.status == UNDEFINED else []
            if elsewhere:
                c.explain.append(f"defined only outside ARCH={tree.srcarch}: "
                                 + ", ".join(elsewhere[:3]))
            else:
                c.explain.append("no Kconfig file defines it (a typo?)")
            if c.close_matches:
                c.explain.append("did you mean: " + ", ".join(
                    f"CONFIG_{m}" for m in c.close_matches))
            continue
        if c.status == OK:
            continue
        if _choice_override(c, checks, tree):
            continue
        need = TRI.get(c.requested, 2)
        for d in tree.defs[c.symbol]:
            _explain_def(c, d, values, need)
        _explain_selectors(c, tree, values)


def _choice_override(c: SymbolCheck, checks: list[SymbolCheck], tree: KconfigTree) -> bool:
    """A dropped choice member whose choice went to another requested member."""
    if c.status != DROPPED:
        return False
    choices = {d.in_choice for d in tree.defs[c.symbol] if d.in_choice}
    for other in checks:
        if other is c or other.requested != "y" or other.final != "y":
            continue
        if choices & {d.in_choice for d in tree.defs.get(other.symbol, [])}:
            c.status = OVERRIDDEN
            c.explain.append(f"the choice at {', '.join(sorted(choices))} went to "
                             f"CONFIG_{other.symbol} ({other.where}), asked for later")
            return True
    return False


def _explain_def(c: SymbolCheck, d: Definition, values: dict[str, str], need: int) -> None:
    prompt = "has a prompt" if d.has_prompt else "no prompt: only select or default sets it"
    c.explain.append(f"defined at {d.path}:{d.line} ({d.type or 'untyped'}, {prompt})")
    if d.in_choice:
        c.explain.append(f"member of the choice at {d.in_choice}")
    clauses = [("depends on", e) for e in d.depends]
    clauses += [(what, e) for what, e in d.enclosing]
    clauses += [("prompt visible if", e) for e in d.prompt_if]
    if c.requested == "n" or not clauses:
        return
    for what, text in clauses:
        try:
            node = parse_expr(text)
        except ParseError:
            c.explain.append(f"{what}: {text} (not understood)")
            continue
        bad = unmet_terms(node, values, need)
        c.explain.append(f"{what}: {render(node, values, bad)}")
        c.unmet.extend(term_text(t, values) for t in bad)


def _explain_selectors(c: SymbolCheck, tree: KconfigTree, values: dict[str, str]) -> None:
    for s in tree.selectors.get(c.symbol, []):
        val = values.get(s.by, "n")
        cond_ok = True
        cond = ""
        if s.cond:
            try:
                cond_ok = evaluate(parse_expr(s.cond), values) > 0
            except ParseError:
                cond_ok = True
            cond = f" if {s.cond}"
        active = val != "n" and cond_ok
        mark = " (active)" if active else ""
        if c.requested == "n" and active and s.kind == "select":
            mark = " (active: forces it on)"
        c.explain.append(f"{s.kind}ed by {s.by} [={val}]{cond} at {s.path}:{s.line}{mark}")


def report_text(checks: list[SymbolCheck], conflicts: list, fragments: list[str]) -> str:
    """The human report: failures first with their explanations, then a summary."""
    lines = ["config verification", "fragments (in merge order): " + ", ".join(fragments)]
    for cf in conflicts:
        lines.append("conflict: " + cf.describe())
    for c in checks:
        if c.status == OVERRIDDEN:
            lines.append(f"conflict: CONFIG_{c.symbol}=y ({c.where}): {c.explain[-1]}")
    bad = [c for c in checks if c.status != OK]
    for c in bad:
        tag = "FAIL" if c.failed else ("ALLOWED" if c.allowed else "NOTE")
        if c.status in (OVERRIDDEN, ABSENT):
            continue
        lines.append(f"{tag} CONFIG_{c.symbol}: requested {c.requested} ({c.where}), "
                     f"final {c.final} [{c.status}]")
        lines.extend(f"    {e}" for e in c.explain)
        if c.unmet:
            lines.append("    unmet: " + ", ".join(dict.fromkeys(c.unmet)))
    for status, what in ((TOOLCHAIN, "left out, the compiler decides them"),
                         (ABSENT, "not in this tree (no Kconfig defines them)")):
        names = [c for c in checks if c.status == status]
        if names:
            lines.append(f"{what} ({len(names)}): "
                         + ", ".join(f"CONFIG_{c.symbol}" for c in names))
    failed = sum(c.failed for c in checks)
    lines.append(f"{len(checks)} symbols requested, {len(checks) - len(bad)} as asked, "
                 f"{failed} failed, {sum(c.allowed for c in checks)} allowed to drop")
    return "\n".join(lines) + "\n"
