"""The build key: what the output depends on, and nothing else.

In: tree HEAD commit (applied patches are commits), a hash of any uncommitted
change, the final .config, toolchain version lines, arch, make flags and targets,
and a kind tag (kernel / selftests plus their own inputs).
Out (on purpose): the tree's path, the build dir, -j, nice, ccache, results dir.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field

from common.errors import InputError

KEY_VERSION = 1


@dataclass
class KeyParts:
    kind: str                              # kernel, selftests
    head: str
    dirty: str                             # "" when clean, else a hash of the changes
    config: str                            # final .config text
    tools: dict[str, str] = field(default_factory=dict)
    arch: str = "x86_64"
    flags: list[str] = field(default_factory=list)     # W=1, C=1, LLVM=-19 ...
    targets: list[str] = field(default_factory=list)
    extra: dict[str, str] = field(default_factory=dict)  # stage-specific inputs

    def digest(self) -> str:
        d = asdict(self)
        d["flags"] = sorted(self.flags)
        d["v"] = KEY_VERSION
        blob = json.dumps(d, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def tree_state(runner, tree, exclude: tuple[str, ...] = ()) -> tuple[str, str]:
    """(HEAD commit, hash of uncommitted changes to tracked files or "").
    `exclude` leaves paths out of the change hash (the kernel key ignores the
    selftests' fix-ups and build products)."""
    head = runner.run(["git", "-C", str(tree), "rev-parse", "HEAD"], timeout=120)
    if head.returncode != 0:
        raise InputError("not a git checkout (the build key needs its HEAD commit)",
                         path=str(tree))
    spec = ["--", "."] + [f":(exclude){p}" for p in exclude]
    status = runner.run(["git", "-C", str(tree), "status", "--porcelain",
                         "--untracked-files=no"] + spec, timeout=300)
    if not status.stdout.strip():
        return head.stdout.strip(), ""
    diff = runner.run(["git", "-C", str(tree), "diff", "HEAD", "--binary"] + spec,
                      timeout=300)
    h = hashlib.sha256()
    h.update(status.stdout.encode())
    h.update(diff.stdout.encode())
    return head.stdout.strip(), h.hexdigest()
