"""The records of the patches package: series, revisions, trees, apply results."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

LORE = "https://lore.kernel.org/r/"


@dataclass(frozen=True)
class Base:
    tree: str
    ref: str | None = None     # commit or tag; None: the tree's imported base tag
    line: int | None = None    # where the manifest says so

    def __str__(self) -> str:
        return f"{self.tree}@{self.ref}" if self.ref else self.tree


@dataclass(frozen=True)
class Source:
    kind: str                  # dir, mbox, quilt
    path: Path                 # absolute
    declared: bool = False     # named in the manifest (not found by looking)


@dataclass
class Tests:
    test_progs: list[str] = field(default_factory=list)
    kselftest: list[str] = field(default_factory=list)


@dataclass
class Revision:
    label: str
    line: int                               # line of the revision in the manifest
    base: Base
    date: str | None = None
    message_id: str | None = None
    patches: int | None = None              # how many patches the posting has
    source: Source | None = None            # declared in the manifest
    tests: Tests = field(default_factory=Tests)
    suites: list[str] = field(default_factory=list)      # default suites, else the series'
    fragments: list[str] = field(default_factory=list)   # names under configs/fragments/
    cmdline: list[str] = field(default_factory=list)
    kconfig: list[str] = field(default_factory=list)     # CONFIG_ symbols that must be y
    notes: str = ""
    upstream: str | None = None             # label of the upstream revision a port follows
    upstream_message_id: str | None = None
    follows: str | None = None              # label of the revision a local one builds on
    author: str | None = None               # for patches without mail headers (quilt)

    @property
    def lore_url(self) -> str | None:
        return LORE + self.message_id if self.message_id else None

    @property
    def upstream_lore_url(self) -> str | None:
        return LORE + self.upstream_message_id if self.upstream_message_id else None

    @property
    def kind(self) -> str:
        """posting (on a list), port (of a posting), or local (the project's own)."""
        if self.upstream:
            return "port"
        return "posting" if self.message_id else "local"


@dataclass
class Series:
    name: str
    title: str
    authors: list[str]
    list: str
    revisions: list[Revision]
    dir: Path                  # the series dir (patches/<name>/)
    manifest: Path             # its series.yaml

    def revision(self, label: str) -> Revision:
        from common.errors import InputError
        for r in self.revisions:
            if r.label == label:
                return r
        have = ", ".join(r.label for r in self.revisions)
        raise InputError(f"series {self.name} has no revision {label!r} (it has: {have})",
                         path=str(self.manifest))


@dataclass
class RevisionStatus:
    label: str
    state: str                 # present, not fetched, no patches yet, invalid
    present: int = 0
    expected: int | None = None
    source: Source | None = None
    error: str = ""

    def text(self) -> str:
        if self.state == "present":
            tot = self.expected if self.expected is not None else self.present
            return f"patches present {self.present}/{tot} ({self.source.kind})"
        if self.state == "invalid":
            return f"invalid: {self.error}"
        return self.state
