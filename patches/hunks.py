"""Which hunks of a failed patch do not apply: each hunk is checked alone with
`git apply --check` against the worktree (which is left untouched)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.errors import ApplyError

from .diffcheck import single_hunk_patch
from .gitutil import git
from .mailbox import ENC, PatchItem



@dataclass
class HunkFailure:
    file: str
    hunk: int                    # 1-based within the file
    header: str                  # the @@ line
    line: int                    # line of the @@ in the patch file


def failed_hunks(runner, wt: Path, item: PatchItem, scratch: Path) -> list:
    """The hunks of `item` that do not apply to the worktree as it is now."""
    out = []
    scratch.mkdir(parents=True, exist_ok=True)
    one = scratch / "hunk.diff"
    for f in item.files:
        for h in f.hunks:
            one.write_bytes(single_hunk_patch(f, h).encode("utf-8", ENC))
            res = git(runner, ["apply", "--check", f"-p{item.strip}", str(one)], cwd=wt,
                      check=False, error=ApplyError)
            if res.returncode != 0:
                out.append(HunkFailure(f.path, h.index, h.header, h.line))
    return out
