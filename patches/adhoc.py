"""Ad-hoc series: a dir of `git format-patch` files or an mbox (`b4 am`), run with no
manifest (`harness.py run ./dir` or `run --mbox FILE`).

The series name comes from the cover letter's subject (or the first patch's), the
revision from the subjects' [PATCH vN n/m]. The base is the posting's
`base-commit:` when the tree has that commit, else the tree's base (and the notes
say so). `prerequisite-patch-id:` lines are listed; one that is not among the
base's recent commits is an error. The series is written as a manifest under
cache_dir()/series/ (as a Debian quilt series is), so every stage reads it as any
other series.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from common.errors import InputError
from common.fsutil import atomic_write, cache_dir

from .mailbox import PatchItem, read_patch_file, split_mbox
from .source import PATCH_EXT, is_cover_letter

PREFIX = re.compile(r"^\s*\[([^\]]*)\]\s*")
VERSION = re.compile(r"(?:^|\s)v(\d+)(?:\s|$)", re.I)
NUMBER = re.compile(r"(?:^|\s)(\d+)/(\d+)(?:\s|$)")
BASE_COMMIT = re.compile(r"^base-commit:\s*([0-9a-f]{7,40})\s*$", re.M)
PREREQ = re.compile(r"^prerequisite-patch-id:\s*([0-9a-f]{40})\s*$", re.M)
COVER_FILE = re.compile(r"^v\d+-0000-cover-letter\.patch$")   # git format-patch -vN
PREREQ_DEPTH = 500     # how many commits of the base are searched for a prerequisite


@dataclass
class Posting:
    """What a posting's files say."""
    path: Path
    kind: str                          # dir or mbox
    items: list[PatchItem]
    title: str                         # the cover letter's subject, else the first patch's
    version: int
    base_commit: str | None = None
    prerequisites: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"v{self.version}"

    @property
    def name(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:40].strip("-")
        digest = hashlib.sha256("".join(i.sha256 for i in self.items).encode()).hexdigest()
        return f"adhoc-{slug or 'series'}-{digest[:8]}"


def is_adhoc(series: str | None) -> bool:
    """A SERIES argument that is a path (./dir, /abs/dir, dir/) rather than a name."""
    return bool(series) and ("/" in series or Path(series).is_dir())


def _subject(text: str) -> str:
    m = re.search(r"^Subject:[ \t]*(.*(?:\n[ \t]+.*)*)", text, re.M)
    return " ".join(m.group(1).split()) if m else ""


def _tags(subject: str) -> str:
    m = PREFIX.match(subject)
    return m.group(1) if m else ""


def _strip(subject: str) -> str:
    while PREFIX.match(subject):
        subject = PREFIX.sub("", subject, count=1)
    return subject.strip()


def read_posting(path: Path, kind: str) -> Posting:
    """The patches and the trailers of a posting; InputError names the file."""
    path = Path(path)
    texts: list[str] = []
    if kind == "mbox":
        if not path.is_file():
            raise InputError("no such mbox or directory of patches", path=str(path))
        items = split_mbox(path)
        texts = [path.read_text(errors="replace")]
        cover = re.findall(r"^Subject:[ \t]*(\[[^\]]*\b0+/\d+[^\]]*\].*)$", texts[0], re.M)
    else:
        if not path.is_dir():
            raise InputError("no such directory of patches", path=str(path))
        files = sorted(p for p in path.iterdir() if p.suffix in PATCH_EXT)
        covers = [p for p in files if is_cover_letter(p) or COVER_FILE.match(p.name)]
        items = [read_patch_file(p, author=None) for p in files if p not in covers]
        texts = [p.read_text(errors="replace") for p in files]
        cover = [_subject(texts[files.index(c)]) for c in covers]
    if not items:
        raise InputError("no patches (git format-patch files or an mbox)", path=str(path))
    subjects = [_subject(i.message) for i in items]
    tags = [_tags(s) for s in subjects]
    versions = {int(m.group(1)) for t in tags for m in [VERSION.search(t)] if m}
    if len(versions) > 1:
        raise InputError(f"the patches are of several revisions: {sorted(versions)}",
                         path=str(path))
    nums = [NUMBER.search(t) for t in tags]
    if all(nums):
        total = {int(n.group(2)) for n in nums if n}
        have = sorted(int(n.group(1)) for n in nums if n)
        if len(total) == 1 and have != list(range(1, next(iter(total)) + 1)):
            raise InputError(f"the posting has patches {have} of {next(iter(total))}",
                             path=str(path), hint="a patch of the series is missing")
    body = "\n".join(texts)
    bases = sorted(set(BASE_COMMIT.findall(body)))
    if len(bases) > 1:
        raise InputError(f"the patches name several base commits: {', '.join(bases)}",
                         path=str(path))
    title = _strip(cover[0]) if cover else items[0].subject
    prereqs = list(dict.fromkeys(PREREQ.findall(body)))
    return Posting(path, kind, items, title, min(versions) if versions else 1,
                   bases[0] if bases else None, prereqs)


def _base_ref(posting: Posting, tree: str, runner) -> tuple[str | None, list[str]]:
    """(the base-commit when the tree has it, notes)."""
    from .gitutil import rev_parse
    from .treeimport import tree_info
    info = tree_info(tree)
    if posting.base_commit is None:
        return None, [f"no base-commit: in the posting; the base is {tree}'s base"]
    if info is None:
        return None, [f"tree {tree} is not imported: base-commit {posting.base_commit} "
                      "not looked up"]
    commit = rev_parse(runner, info.repo, posting.base_commit)
    if commit is None:
        return None, [f"base-commit {posting.base_commit} is not in {tree}; the base is "
                      f"{tree}'s base"]
    return commit, [f"base-commit {commit[:12]} (from the posting)"]


def check_prerequisites(posting: Posting, tree: str, ref: str | None, runner) -> list[str]:
    """Notes listing the prerequisites; InputError for one that the base's last
    PREREQ_DEPTH commits do not hold (by `git patch-id --stable`)."""
    if not posting.prerequisites:
        return []
    from .gitutil import git
    from .treeimport import BASE_TAG, tree_info
    info = tree_info(tree)
    found: set[str] = set()
    if info is not None:
        log = git(runner, ["log", "-p", "--no-color", f"-n{PREREQ_DEPTH}", ref or BASE_TAG],
                  git_dir=info.repo, check=False)
        if log.returncode == 0 and log.stdout:
            ids = git(runner, ["patch-id", "--stable"], git_dir=info.repo, check=False,
                      input=log.stdout)
            found = {line.split()[0] for line in ids.stdout.splitlines() if line.split()}
    missing = [p for p in posting.prerequisites if p not in found]
    if missing:
        raise InputError(
            f"prerequisite patch(es) not in {tree}'s base ({PREREQ_DEPTH} commits "
            f"searched): {', '.join(missing)}", path=str(posting.path),
            hint="apply the prerequisite series first (a tree with them, --tree)")
    return [f"prerequisite-patch-id {p}: present" for p in posting.prerequisites]


def make_series(path: Path, kind: str, tree: str, runner) -> tuple[str, str]:
    """Write the posting as a series under cache_dir()/series/; (name, revision)."""
    posting = read_posting(path, kind)
    ref, notes = _base_ref(posting, tree, runner)
    notes += check_prerequisites(posting, tree, ref, runner)
    name, label = posting.name, posting.label
    root = cache_dir() / "series"
    tmp = root / f".{name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / label).mkdir(parents=True)
    if kind == "mbox":
        shutil.copyfile(posting.path, tmp / label / "series.mbx")
        source = {"mbox": f"{label}/series.mbx"}
    else:
        for p in sorted(posting.path.iterdir()):
            if p.suffix in PATCH_EXT and not (is_cover_letter(p) or COVER_FILE.match(p.name)):
                shutil.copyfile(p, tmp / label / p.name)
        source = {"dir": label}
    authors = sorted({i.author for i in posting.items if i.author}) or ["unknown"]
    base = {"tree": tree, **({"ref": ref} if ref else {})}
    manifest = {"name": name, "title": posting.title, "authors": authors, "list": "none",
                "revisions": [{"version": label, "base": base, "source": source,
                               "notes": f"ad-hoc from {posting.path.resolve()}: "
                                        + "; ".join(notes)}]}
    atomic_write(tmp / "series.yaml", yaml.safe_dump(manifest, sort_keys=False))
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return name, label
