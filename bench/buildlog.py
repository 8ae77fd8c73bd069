"""Facts from a build: which objects kbuild compiled (its `CC` lines), what ccache
did (`ccache --print-stats`), and which files a revision switch touches."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

CC_RE = re.compile(r"^\s+CC(?: \[M\])?\s+(\S+\.o)\s*$")
FILE_HEADER_RE = re.compile(r"^\s*[-+]?\s*## (.+?) ##\s*$")
NOT_FILES = {"Commit message", "Metadata"}


def compiled_objects(lines) -> list[str]:
    """Objects kbuild compiled from C (`  CC      fs/namei.o`, `  CC [M]  x.o`), in order,
    each once."""
    seen: dict[str, None] = {}
    for line in lines:
        m = CC_RE.match(line)
        if m:
            seen.setdefault(m.group(1), None)
    return list(seen)


def rangediff_files(text: str) -> list[str]:
    """Files named by `## path ##` headers in `git range-diff` output (the patches
    whose diffs differ between the two revisions), each once."""
    out: dict[str, None] = {}
    for line in text.splitlines():
        m = FILE_HEADER_RE.match(line)
        if m and m.group(1) not in NOT_FILES:
            out.setdefault(m.group(1).split(" (")[0], None)
    return list(out)


def source_objects(files: list[str]) -> list[str]:
    """The objects the changed C files compile to (fs/namei.c -> fs/namei.o)."""
    return [f[:-2] + ".o" for f in files if f.endswith(".c")
            and not f.startswith(("tools/", "scripts/", "Documentation/"))]


def parse_ccache_stats(text: str) -> dict[str, int]:
    """`ccache --print-stats`: one `name<TAB>value` per line."""
    stats = {}
    for line in text.splitlines():
        name, _, value = line.partition("\t")
        if value.strip().lstrip("-").isdigit():
            stats[name.strip()] = int(value.strip())
    return stats


@dataclass
class Recompile:
    """What a rebuild compiled, against what the revision switch changed."""

    cc_objects: list[str]                  # kbuild CC lines
    changed_files: list[str]               # git diff --name-only old..new
    rangediff_files: list[str] = field(default_factory=list)
    ccache: dict[str, int] = field(default_factory=dict)   # counters for the rebuild

    @property
    def expected(self) -> list[str]:
        return source_objects(self.changed_files)

    @property
    def stale(self) -> list[str]:
        """Changed C files whose object was not recompiled: a stale build, unless the
        file is not in this config (then no object of that name is built at all)."""
        built = set(self.cc_objects)
        return [o for o in self.expected if o not in built]

    @property
    def real_compiles(self) -> int | None:
        if not self.ccache:
            return None
        return self.ccache.get("cache_miss", 0)

    @property
    def cache_hits(self) -> int | None:
        if not self.ccache:
            return None
        return self.ccache.get("direct_cache_hit", 0) + self.ccache.get(
            "preprocessed_cache_hit", 0)

    def to_dict(self) -> dict:
        return {"cc_objects": len(self.cc_objects), "changed_files": self.changed_files,
                "changed_c_objects": self.expected, "rangediff_files": self.rangediff_files,
                "ccache": self.ccache, "ccache_misses": self.real_compiles,
                "ccache_hits": self.cache_hits, "not_recompiled": self.stale}

    def summary(self) -> str:
        parts = [f"{len(self.cc_objects)} objects compiled by make (CC lines)"]
        if self.real_compiles is not None:
            parts.append(f"{self.real_compiles} real compiles (ccache misses), "
                         f"{self.cache_hits} ccache hits")
        parts.append(f"{len(self.changed_files)} files changed between the revisions "
                     f"({len(self.expected)} C files)")
        if self.rangediff_files:
            parts.append(f"{len(self.rangediff_files)} files named in the range-diff")
        return "; ".join(parts)
