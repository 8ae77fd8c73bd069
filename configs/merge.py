"""Merge fragments in order (later wins) and apply them to a .config."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .fragment import NOT_SET_RE, SYM_RE, Fragment, Setting


@dataclass(frozen=True)
class Conflict:
    """Two fragments asked for different values; `winner` is the later one."""
    symbol: str
    loser: Setting
    winner: Setting

    def describe(self) -> str:
        return (f"CONFIG_{self.symbol}: {self.loser.value} ({self.loser.where()}) "
                f"overridden by {self.winner.value} ({self.winner.where()})")

    def to_dict(self) -> dict:
        return {"symbol": self.symbol,
                "loser": {"value": self.loser.value, "where": self.loser.where()},
                "winner": {"value": self.winner.value, "where": self.winner.where()}}


def merge_fragments(fragments: list[Fragment]) -> tuple[dict[str, Setting], list[Conflict]]:
    """Fold fragments in the given order. Returns the requested values and conflicts."""
    merged: dict[str, Setting] = {}
    conflicts: list[Conflict] = []
    for frag in fragments:
        for s in frag.settings:
            prev = merged.get(s.symbol)
            if prev is not None and prev.value != s.value:
                conflicts.append(Conflict(s.symbol, prev, s))
            merged.pop(s.symbol, None)      # keep the dict in order of last setting
            merged[s.symbol] = s
    return merged, conflicts


def read_dotconfig(text: str) -> dict[str, str]:
    """Symbol values of a .config; `# X is not set` reads as n."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        m = SYM_RE.match(line)
        if m:
            values[m.group(1)] = m.group(2)
            continue
        m = NOT_SET_RE.match(line)
        if m:
            values[m.group(1)] = "n"
    return values


def config_line(symbol: str, value: str) -> str:
    if value == "n":
        return f"# CONFIG_{symbol} is not set"
    return f"CONFIG_{symbol}={value}"


def apply_settings(base_text: str, settings: dict[str, Setting]) -> str:
    """The base .config without the requested symbols, then the requested values
    appended in merge order, so that for a choice the last one asked for wins."""
    out: list[str] = []
    for line in base_text.splitlines():
        s = line.strip()
        m = SYM_RE.match(s) or NOT_SET_RE.match(s)
        if m and m.group(1) in settings:
            continue
        out.append(line)
    out.append("# requested by fragments, in merge order")
    out.extend(config_line(sym, st.value) for sym, st in settings.items())
    return "\n".join(out) + "\n"


def final_value(values: dict[str, str], symbol: str) -> str:
    """Value as the kernel sees it: an absent bool/tristate is n."""
    return values.get(symbol, "n")


def read_dotconfig_file(path: Path) -> dict[str, str]:
    return read_dotconfig(Path(path).read_text(errors="replace"))
