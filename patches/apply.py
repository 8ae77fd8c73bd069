"""Apply a revision of a series onto its base, in a worktree of its own.

`apply_series(ApplyRequest, runner) -> ApplyResult` is the stage entry point. The
tree's fix-ups go first (as their own commits), then the patches with `git am --3way`,
one `git am` per patch so each gets its own record. On a failure the `am` is aborted,
the worktree is left clean, and ApplyError names the patch, files and hunks.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.errors import ApplyError, InputError

from . import worktree as wtmod
from .gitutil import git, head, rev_parse
from .hunks import HunkFailure, failed_hunks
from .mailbox import ENC, PatchItem, read_patch_file
from .manifest import find_series
from .source import load_patches
from .treedefs import tree_extras
from .treeimport import BASE_TAG, tree_info

CLEAN, THREEWAY, FAILED = "clean", "3way", "failed"
EMPTY = "empty"      # applied but changed nothing: the base already has it
FALLBACK = "Falling back to patching base and 3-way merge"


@dataclass
class ApplyRequest:
    series: str
    rev: str
    tree: str | None = None      # default: the revision's base tree
    upto: int | None = None      # apply only the first K patches
    skip: int | None = None      # leave out patch K (1-based; a bisect's confirmation)
    fixups: bool = True          # apply the tree's fix-ups first
    onto: Path | None = None     # a git checkout: apply onto its HEAD, not the revision's
                                 # base (a bisect-commits step with a series)


@dataclass
class PatchRecord:
    index: int                   # 1-based; fix-ups count separately
    name: str
    subject: str
    sha256: str
    status: str                  # clean, 3way, failed, empty
    commit: str | None = None
    failed_files: list[str] = field(default_factory=list)
    failed_hunks: list[HunkFailure] = field(default_factory=list)
    output: str = ""             # git am's output when it failed


@dataclass
class ApplyResult:
    series: str
    rev: str
    tree: str
    base_ref: str
    base_commit: str
    fixup_head: str              # the base plus the tree's fix-ups
    head: str
    worktree: Path
    key: str
    status: str = "incomplete"   # applied, failed (incomplete while it runs)
    total: int = 0               # patches in the revision (before --upto)
    upto: int | None = None
    skip: int | None = None      # the patch left out
    patches: list[PatchRecord] = field(default_factory=list)
    fixups: list[PatchRecord] = field(default_factory=list)
    reused: bool = False
    notes: list[str] = field(default_factory=list)   # what was found and cleaned

    def to_dict(self) -> dict:
        d = asdict(self)
        d["worktree"] = str(self.worktree)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ApplyResult":
        d = dict(d)
        d["worktree"] = Path(d["worktree"])
        d["patches"] = [_rec(p) for p in d.get("patches", [])]
        d["fixups"] = [_rec(p) for p in d.get("fixups", [])]
        return cls(**d)


def _rec(d: dict) -> PatchRecord:
    d = dict(d)
    d["failed_hunks"] = [HunkFailure(**h) for h in d.get("failed_hunks", [])]
    return PatchRecord(**d)


class ApplyFailed(ApplyError):
    """A patch did not apply; `.result` holds the records up to it."""

    def __init__(self, message: str, result: ApplyResult, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.result = result


def resolve_base(series, rev, tree: str | None, runner) -> tuple[str, str, str, Path]:
    """(tree, ref, commit, repo) of the base; InputError at the manifest's base line."""
    name = tree or rev.base.tree
    where = {"path": str(series.manifest), "line": rev.base.line or rev.line}
    info = tree_info(name)
    if info is None:
        raise InputError(f"base tree {name!r} does not exist (not imported)", **where,
                         hint=f"harness.py tree import {name}")
    ref = rev.base.ref if name == rev.base.tree and rev.base.ref else BASE_TAG
    commit = rev_parse(runner, info.repo, ref)
    if commit is None:
        raise InputError(f"base {name}@{ref} does not exist in {info.repo}", **where)
    return name, ref, commit, info.repo


def apply_key(commit: str, fixups: list[PatchItem], items: list[PatchItem]) -> str:
    data = json.dumps([commit, [f.sha256 for f in fixups], [i.sha256 for i in items]])
    return hashlib.sha256(data.encode()).hexdigest()


def apply_series(req: ApplyRequest, runner, hold=None) -> ApplyResult:
    """Apply the revision (see the module doc). With `hold` (a contextlib.ExitStack,
    the job's), the worktree stays locked for this job until the stack closes."""
    series = find_series(req.series)
    rev = series.revision(req.rev)
    items = load_patches(series, rev)
    total = len(items)
    if req.upto is not None:
        if not 1 <= req.upto <= total:
            raise InputError(f"--upto {req.upto}: {series.name}@{rev.label} has {total} "
                             "patches", path=str(series.manifest), line=rev.line)
        items = items[:req.upto]
    numbers = _kept(req.skip, len(items), series, rev)
    items = [items[k - 1] for k in numbers]
    if req.onto is not None:
        tree, ref, commit, repo = checkout_base(Path(req.onto), runner)
        fixups = []
    else:
        tree, ref, commit, repo = resolve_base(series, rev, req.tree, runner)
        fixups = _fixups(tree, req.fixups)
    upto = req.upto if req.upto != total else None
    wt = wtmod.worktree_path(tree, series.name, rev.label, upto, req.skip)
    res = ApplyResult(series.name, rev.label, tree, ref, commit, commit, commit,
                      wt, "", total=total, upto=req.upto, skip=req.skip)
    return _apply(res, repo, fixups, items, runner, numbers, hold)


def _kept(skip: int | None, count: int, series, rev) -> list[int]:
    """The 1-based numbers of the patches to apply: all of the first `count` but `skip`."""
    if skip is not None and not 1 <= skip <= count:
        raise InputError(f"skip patch {skip}: {series.name}@{rev.label} applies {count} "
                         "patches", path=str(series.manifest), line=rev.line)
    return [k for k in range(1, count + 1) if k != skip]


def checkout_base(repo: Path, runner) -> tuple[str, str, str, Path]:
    """(tree, ref, commit, repo) for a checkout given as the base: its HEAD. The
    tree name is derived from the checkout's path, so its worktrees are its own."""
    repo = repo.resolve()
    res = git(runner, ["rev-parse", "--path-format=absolute", "--git-common-dir", "HEAD"],
              cwd=repo, check=False)
    lines = res.stdout.split()
    if res.returncode != 0 or len(lines) != 2:
        raise InputError("not a git checkout with a HEAD", path=str(repo))
    return checkout_name(repo), "HEAD", lines[1], Path(lines[0])


def checkout_name(repo: Path) -> str:
    """The tree name of a user's checkout: derived from its path, so its worktrees
    and builds are its own."""
    return "checkout-" + hashlib.sha256(str(Path(repo).resolve()).encode()).hexdigest()[:10]


def apply_base(tree: str, runner, fixups: bool = True, hold=None) -> ApplyResult:
    """The base tree alone, with its fix-ups, in worktree <tree>/base/<tree> (for jobs
    with no series). ApplyResult.series and .rev are empty."""
    info = tree_info(tree)
    if info is None:
        raise InputError(f"tree {tree!r} does not exist (not imported)",
                         hint=f"harness.py tree import {tree}")
    commit = rev_parse(runner, info.repo, BASE_TAG)
    if commit is None:
        raise InputError(f"tree {tree!r} has no {BASE_TAG!r} tag", path=str(info.repo))
    res = ApplyResult("", "", tree, BASE_TAG, commit, commit, commit,
                      wtmod.worktree_path(tree, "base", tree), "")
    return _apply(res, info.repo, _fixups(tree, fixups), [], runner, hold=hold)


def _fixups(tree: str, wanted: bool) -> list[PatchItem]:
    if not wanted:
        return []
    return [read_patch_file(f.path, author=None) for f in tree_extras(tree).fixups]


def _apply(res: ApplyResult, repo: Path, fixups: list[PatchItem], items: list[PatchItem],
           runner, numbers: list[int] | None = None, hold=None) -> ApplyResult:
    """Fix-ups then patches onto res.base_commit in res.worktree, or the saved result
    when the worktree already holds exactly that. The worktree's use lock is shared
    while it is reused, exclusive while it is reset and applied; with `hold` it stays
    (shared) in that ExitStack, else it is released on return."""
    wt = res.worktree
    res.key = apply_key(res.base_commit, fixups, items)
    use = wtmod.Use(wt)
    try:
        with wtmod.locked(wt):
            done = _reuse_or_apply(res, repo, fixups, items, runner, numbers, use)
            use.shared()
    except BaseException:
        use.release()
        raise
    if hold is not None:
        hold.callback(use.release)
    else:
        use.release()
    return done


def _reuse_or_apply(res: ApplyResult, repo: Path, fixups, items, runner, numbers,
                    use) -> ApplyResult:
    wt = res.worktree
    st = wtmod.reusable(runner, wt, res.key)
    if st is not None:
        done = ApplyResult.from_dict(st["result"])
        done.reused = True
        return done
    use.exclusive()                  # no other job is building or testing in it
    branch = f"kh/{res.series}/{wt.name}" if res.series else f"kh/base/{res.tree}"
    wtmod.write_state(wt, {"key": res.key, "status": "applying"})
    res.notes += wtmod.prepare(runner, repo, wt, branch, res.base_commit)
    try:
        _apply_all(runner, wt, fixups, res.fixups, res, "fix-up")
        res.fixup_head = head(runner, wt)
        _apply_all(runner, wt, items, res.patches, res, "patch", numbers)
        res.head = head(runner, wt)
        res.status = "applied"
    finally:
        shutil.rmtree(_scratch(wt), ignore_errors=True)
        wtmod.write_state(wt, {"key": res.key, "status": res.status, "head": res.head,
                               "result": res.to_dict()})
    return res


def _scratch(wt: Path) -> Path:
    return wt.parent / f".{wt.name}.msgs"


def _apply_all(runner, wt: Path, items: list[PatchItem], out: list[PatchRecord],
               res: ApplyResult, what: str, numbers: list[int] | None = None) -> None:
    """Apply `items` in order; records carry `numbers` (default 1, 2, ...)."""
    for i, item in zip(numbers or range(1, len(items) + 1), items):
        rec = apply_one(runner, wt, item, i)
        out.append(rec)
        if rec.status == FAILED:
            res.status = FAILED
            res.head = head(runner, wt)
            raise ApplyFailed(failure_text(what, rec), res,
                              hint=f"the worktree {wt} is clean at the last applied commit")


def apply_one(runner, wt: Path, item: PatchItem, index: int) -> PatchRecord:
    scratch = _scratch(wt)
    scratch.mkdir(parents=True, exist_ok=True)
    mail = scratch / f"{index:04d}.eml"
    mail.write_bytes(item.message.encode("utf-8", ENC))
    rec = PatchRecord(index, item.name, item.subject, item.sha256, FAILED)
    before = head(runner, wt)
    res = git(runner, ["am", "--3way", "--committer-date-is-author-date",
                       "--no-gpg-sign", f"-p{item.strip}", str(mail)], cwd=wt, check=False,
              error=ApplyError)
    out = (res.stdout + res.stderr).strip()
    if res.returncode == 0:
        rec.commit = head(runner, wt)
        rec.status = EMPTY if rec.commit == before else THREEWAY if FALLBACK in out else CLEAN
        return rec
    wtmod.abort_am(runner, wt)
    git(runner, ["reset", "-q", "--hard", "HEAD"], cwd=wt, error=ApplyError)
    git(runner, ["clean", "-q", "-f", "-d"], cwd=wt, error=ApplyError)
    rec.output = out[-4000:]
    rec.failed_hunks = failed_hunks(runner, wt, item, scratch)
    rec.failed_files = sorted({h.file for h in rec.failed_hunks} | _files_from_output(out))
    return rec


def _files_from_output(out: str) -> set[str]:
    files = set()
    for ln in out.splitlines():
        for prefix in ("error: patch failed: ", "CONFLICT (content): Merge conflict in "):
            if ln.startswith(prefix):
                files.add(ln[len(prefix):].rsplit(":", 1)[0] if "patch failed" in prefix
                          else ln[len(prefix):])
        if ln.startswith("error: ") and ln.endswith(": already exists in working directory"):
            files.add(ln[len("error: "):-len(": already exists in working directory")])
        if ln.startswith("error: ") and ln.endswith(": does not exist in index"):
            files.add(ln[len("error: "):-len(": does not exist in index")])
    return files


def failure_text(what: str, rec: PatchRecord) -> str:
    lines = [f"{what} {rec.index} ({rec.name}: {rec.subject}) does not apply"]
    for f in rec.failed_files:
        hunks = [h for h in rec.failed_hunks if h.file == f]
        if hunks:
            for h in hunks:
                lines.append(f"  {f}: hunk {h.hunk} {h.header} (patch line {h.line})")
        else:
            lines.append(f"  {f}")
    if not rec.failed_files:
        lines.append("  git am: " + (rec.output.splitlines() or ["(no output)"])[-1])
    return "\n".join(lines)
