"""Which hunks of a failed patch do not apply: each hunk is checked alone with
`git apply --check` against the worktree (which is left untouched)."""
from __future__ import annotations

from pathlib import Path

from common.errors import ApplyError

from .diffcheck import single_hunk_patch
from .gitutil import git
from .mailbox import ENC, PatchItem


def failed_hunks(runner, wt: Path, item: PatchItem) -> list:
    from .apply import HunkFailure
    out = []
    for f in item.files:
        for h in f.hunks:
            text = single_hunk_patch(f, h)
            res = git(runner, ["apply", "--check", f"-p{item.strip}", "-"], cwd=wt,
                      check=False, input=text.encode("utf-8", ENC).decode("utf-8", "replace"),
                      error=ApplyError)
            if res.returncode != 0:
                out.append(HunkFailure(f.path, h.index, h.header, h.line))
    return out
