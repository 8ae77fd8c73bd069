"""Text for `series show`."""
from __future__ import annotations

from common.fsutil import REPO_ROOT

from .model import Series
from .source import revision_status

FRAGMENTS = REPO_ROOT / "configs" / "fragments"


def fragment_exists(name: str) -> bool:
    return any((FRAGMENTS / f"{name}{ext}").is_file() for ext in (".config", ".config.j2"))


def describe(s: Series) -> str:
    out = [f"{s.name}: {s.title}", f"  authors: {', '.join(s.authors)}", f"  list: {s.list}",
           f"  manifest: {s.manifest}", ""]
    for r in s.revisions:
        st = revision_status(s, r)
        out.append(f"{r.label} ({r.kind}{', ' + r.date if r.date else ''}): {st.text()}")
        if r.lore_url:
            out.append(f"  lore: {r.lore_url}")
        if r.upstream:
            out.append(f"  follows upstream {r.upstream}: {r.upstream_lore_url}")
        if r.follows:
            out.append(f"  follows {r.follows}")
        out.append(f"  base: {r.base}")
        if r.tests.test_progs:
            out.append(f"  test_progs: {' '.join(r.tests.test_progs)}")
        if r.tests.kselftest:
            out.append(f"  kselftest: {' '.join(r.tests.kselftest)}")
        if r.fragments:
            frags = [f if fragment_exists(f) else f"{f} (missing)" for f in r.fragments]
            out.append(f"  fragments: {', '.join(frags)}")
        if r.kconfig:
            out.append(f"  kconfig: {' '.join(r.kconfig)}")
        if r.cmdline:
            out.append(f"  cmdline: {' '.join(r.cmdline)}")
        if r.notes:
            out.append(f"  notes: {r.notes}")
    return "\n".join(out) + "\n"
