"""Fakes shared by the selftests build tests (tests/test_kbuild_selftests.py) and
the progress tests (tests/test_progress_lines.py): a tree with the bpf selftests'
Makefile beside a built kernel family, and a FakeRunner for its git and make."""
from __future__ import annotations

from pathlib import Path

from common.proc import FakeRunner
from kbuild.objdir import Family

from test_kbuild_fakes import make_tree

FAMILY = "linux-bpf-gcc"


def bpf_tree(tmp_path: Path) -> Path:
    """A fake kernel tree with tools/testing/selftests/bpf, and the family's build
    dir holding a vmlinux (HARNESS_CACHE must point into tmp_path first)."""
    t = bpf_sources(tmp_path)
    fam = Family(FAMILY)
    fam.obj.mkdir(parents=True)
    (fam.obj / "vmlinux").write_bytes(b"ELF")
    return t


def bpf_sources(tmp_path: Path, name: str = "linux") -> Path:
    """A fake kernel tree with tools/testing/selftests/bpf (no build dir)."""
    t = make_tree(tmp_path, name)
    (t / "tools/testing/selftests/bpf").mkdir(parents=True)
    (t / "tools/testing/selftests/bpf/Makefile").write_text("# fake\n")
    return t


def as_worktree(tree: Path, repo: Path) -> Path:
    """Make `tree` a linked worktree of the repository `repo` (a git dir), as
    `git worktree add` leaves it: a .git file, and a commondir back to `repo`."""
    admin = repo / "worktrees" / tree.name
    admin.mkdir(parents=True, exist_ok=True)
    (repo / "HEAD").write_text("ref: refs/heads/master\n")
    (admin / "commondir").write_text("../..\n")
    (tree / ".git").write_text(f"gitdir: {admin}\n")
    return tree


def git_runner(head: str = "a" * 40) -> FakeRunner:
    """Tool versions and a clean tree at `head`; a new head is a new selftests key."""
    fr = FakeRunner()
    fr.on(lambda a: len(a) == 2 and a[1] == "--version", stdout="tool 1\n")
    fr.on("rev-parse HEAD", stdout=head + "\n").on("status --porcelain", stdout="")
    fr.on("ls-files -z", stdout="").on("--name-only -z", stdout="")
    return fr


def base_runner(make_rc: int = 0, make_out: str = "", effect=None,
                head: str = "a" * 40) -> FakeRunner:
    fr = git_runner(head)
    fr.on(lambda a: "make" in a, returncode=make_rc, stdout=make_out, effect=effect)
    return fr
