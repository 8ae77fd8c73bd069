"""Small helpers over `git`, run through a Runner with argument lists."""
from __future__ import annotations

import os
from pathlib import Path

from common.errors import HarnessError, InfraError

# Commits the harness makes itself (imports, quilt patches, fix-ups) carry this identity;
# `git am` keeps each patch's own author.
IDENTITY = {
    "GIT_AUTHOR_NAME": "kharness",
    "GIT_AUTHOR_EMAIL": "kharness@localhost",
    "GIT_COMMITTER_NAME": "kharness",
    "GIT_COMMITTER_EMAIL": "kharness@localhost",
}
# No user or system config may change what a patch turns into.
CLEAN_ENV = {"GIT_CONFIG_NOSYSTEM": "1", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
TIMEOUT = 1800


def git_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(CLEAN_ENV)
    env.update(IDENTITY)
    if extra:
        env.update(extra)
    return env


def git(runner, args: list[str], *, cwd: Path | None = None, git_dir: Path | None = None,
        work_tree: Path | None = None, check: bool = True, env: dict | None = None,
        input: str | None = None, error: type[HarnessError] = InfraError,
        timeout: float = TIMEOUT):
    """Run one git command; `git_dir`/`work_tree` become --git-dir/--work-tree."""
    argv = ["git"]
    if git_dir is not None:
        argv.append(f"--git-dir={git_dir}")
    if work_tree is not None:
        argv.append(f"--work-tree={work_tree}")
    argv += ["-c", "gc.auto=0", "-c", "core.hooksPath=" + os.devnull]
    argv += args
    return runner.run(argv, cwd=cwd, env=git_env(env), check=check, input=input,
                      error=error, timeout=timeout)


def rev_parse(runner, repo: Path, ref: str) -> str | None:
    """The commit id `ref` names in `repo`, or None when it names nothing."""
    res = git(runner, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
              git_dir=repo, check=False)
    out = res.stdout.strip()
    return out if res.returncode == 0 and out else None


def head(runner, worktree: Path) -> str:
    return git(runner, ["rev-parse", "HEAD"], cwd=worktree).stdout.strip()


def is_clean(runner, worktree: Path) -> bool:
    res = git(runner, ["status", "--porcelain", "--untracked-files=no"], cwd=worktree,
              check=False)
    return res.returncode == 0 and not res.stdout.strip()
