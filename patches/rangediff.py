"""`git range-diff` between two applied revisions of a series."""
from __future__ import annotations

from dataclasses import dataclass

from common.errors import InputError

from .apply import ApplyRequest, ApplyResult, apply_series
from .gitutil import git
from .treeimport import tree_info


@dataclass
class RangeDiffRequest:
    series: str
    old: str
    new: str
    tree: str | None = None


@dataclass
class RangeDiffResult:
    old: ApplyResult
    new: ApplyResult
    text: str


def range_diff(req: RangeDiffRequest, runner) -> RangeDiffResult:
    """Applies both revisions (reusing their worktrees) and compares their patches."""
    if req.old == req.new:
        raise InputError(f"diff needs two different revisions, got {req.old!r} twice")
    a = apply_series(ApplyRequest(req.series, req.old, tree=req.tree), runner)
    b = apply_series(ApplyRequest(req.series, req.new, tree=req.tree), runner)
    if a.tree != b.tree:
        raise InputError(f"{req.old} is on tree {a.tree} and {req.new} on {b.tree}; "
                         "pass --tree to put both on one")
    repo = tree_info(a.tree).repo
    res = git(runner, ["range-diff", "--no-color", f"{a.fixup_head}..{a.head}",
                       f"{b.fixup_head}..{b.head}"], git_dir=repo)
    return RangeDiffResult(a, b, res.stdout)
