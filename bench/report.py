"""bench/results.json (every raw timing, the figures, the machine) and
bench/results.md (the table the README quotes)."""
from __future__ import annotations

from common.errors import InputError

from .stats import STATUSES, Figure, fmt_value

SCHEMA = 1
TOP_KEYS = {"schema", "date", "machine", "options", "steps", "figures", "cold"}
FIGURE_KEYS = {"id", "title", "status", "unit", "samples", "median", "spread", "n", "target",
               "met", "verdict", "what", "raw", "notes", "reason"}
MACHINE_KEYS = {"cores", "memory_gib", "accel", "git_commit"}


def results_doc(figures: list[Figure], machine: dict, date: str, options: dict,
                steps: list[dict], cold: str) -> dict:
    return {"schema": SCHEMA, "date": date, "machine": machine, "options": options,
            "steps": steps, "cold": cold, "figures": [f.to_dict() for f in figures]}


def check_doc(doc: dict, path: str = "bench/results.json") -> None:
    """Raise InputError naming what is missing or wrong in a results document."""
    missing = TOP_KEYS - set(doc)
    if missing:
        raise InputError(f"missing keys: {', '.join(sorted(missing))}", path=path)
    if doc["schema"] != SCHEMA:
        raise InputError(f"schema {doc['schema']!r}, expected {SCHEMA}", path=path)
    lacking = MACHINE_KEYS - set(doc["machine"])
    if lacking:
        raise InputError(f"machine lacks {', '.join(sorted(lacking))}", path=path)
    for i, f in enumerate(doc["figures"]):
        gone = FIGURE_KEYS - set(f)
        if gone:
            raise InputError(f"figure {i} lacks {', '.join(sorted(gone))}", path=path)
        if f["status"] not in STATUSES:
            raise InputError(f"figure {f['id']}: unknown status {f['status']!r}", path=path)
        if f["status"] == "measured" and (f["median"] is None or not f["samples"]):
            raise InputError(f"figure {f['id']}: measured but no samples", path=path)


def _spread(f: dict) -> str:
    if f["spread"] is None:
        return "-"
    lo, hi = f["spread"]
    if f["n"] < 2:
        return "n=1"
    unit = "" if f["unit"] == "ratio" else f" {f['unit']}"
    return f"{lo:.3g}..{hi:.3g}{unit} (n={f['n']})"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(doc: dict) -> str:
    m = doc["machine"]
    vms = f"VMs under {m['accel'].upper()}" if m.get("accel") else "no VM booted"
    head = (f"Benchmark of {doc['date']} on {m['cores']} cores, {m['memory_gib']} GiB, "
            + vms
            + (f" ({m['cpu']})" if m.get("cpu") else "")
            + (f", harness commit {m['git_commit'][:12]}" if m.get("git_commit") else "")
            + ".")
    if doc.get("complete") is False:
        head += " INCOMPLETE: written while the bench ran; it stopped before its last step."
    lines = [head, "",
             "| # | measurement | figure (median) | spread (min..max) | target | verdict | "
             "what was measured |",
             "|---|---|---|---|---|---|---|"]
    for f in doc["figures"]:
        target = "-" if f["target"] is None else f"{f['target']['op']} {f['target']['value']:g}"
        what = f["what"] + ("; " + "; ".join(f["notes"]) if f["notes"] else "")
        value = fmt_value(f["median"], f["unit"])
        lines.append(f"| {f['id']} | {_cell(f['title'])} | {value} | {_spread(f)} | "
                     f"{target} | {_cell(f['verdict'])} | {_cell(what)} |")
    lines += ["", f"Cold: {doc['cold']}"]
    lines += tables(doc)
    return "\n".join(lines) + "\n"


def tables(doc: dict) -> list[str]:
    """The figures' own tables (raw "tables": title and markdown), after the main
    table: the per-job stages of `make test` (10, 11). A results file of an older
    bench has none."""
    out = []
    for f in doc["figures"]:
        for t in (f.get("raw") or {}).get("tables", []):
            out += ["", f"Figure {f['id']}, {t['title']}:", "", t["markdown"]]
    return out


def verdict_lines(doc: dict) -> list[str]:
    """One line per figure for the console: id, value, verdict."""
    out = []
    for f in doc["figures"]:
        value = fmt_value(f["median"], f["unit"])
        out.append(f"{f['id']:>3}  {f['title']}: {value}  [{f['verdict']}]")
    return out
