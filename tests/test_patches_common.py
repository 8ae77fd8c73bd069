"""Shared fixtures for the test_patches_* tests: a small fake kernel tree, patches made
from real commits on it, and series dirs in a temporary cache. (No tests here.)"""
from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from common.proc import Runner

DATA = Path(__file__).resolve().parent / "data" / "patches"
ENV = {"GIT_AUTHOR_NAME": "Ann Dev", "GIT_AUTHOR_EMAIL": "ann@example.org",
       "GIT_COMMITTER_NAME": "Ann Dev", "GIT_COMMITTER_EMAIL": "ann@example.org",
       "GIT_AUTHOR_DATE": "2025-01-02T03:04:05Z", "GIT_COMMITTER_DATE": "2025-01-02T03:04:05Z",
       "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}

MAKEFILE = "VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 117\nEXTRAVERSION =\nNAME = Fake\n"
GITIGNORE = ("*.o\n*.ko\n\n# Kdevelop4\n*.kdev4\n\n#\n# Debian packaging: ignore everything "
             "at the top level, since it isn't\n# included in our repository\n#\n/*\n"
             "!/debian/\n")


def lines(prefix: str, n: int = 30) -> str:
    return "".join(f"int {prefix}_{i};\n" for i in range(1, n + 1))


def write_tree(root: Path) -> Path:
    """The fake kernel tree: a Makefile, two C files, Debian's .gitignore block."""
    files = {"Makefile": MAKEFILE, ".gitignore": GITIGNORE,
             "fs/namei.c": lines("namei"), "kernel/bpf/iter.c": lines("iter")}
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, text=True,
                          capture_output=True).stdout


def git_repo(root: Path) -> Path:
    """A git repo of the fake tree, one commit, tag v6.12.117."""
    write_tree(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A", "-f")
    git(root, "commit", "-q", "-m", "base")
    git(root, "tag", "v6.12.117")
    return root


def edit(root: Path, rel: str, old: str, new: str) -> None:
    p = root / rel
    text = p.read_text()
    assert old in text, (rel, old)
    p.write_text(text.replace(old, new, 1))


def commit(root: Path, msg: str) -> str:
    git(root, "add", "-A", "-f")
    git(root, "commit", "-q", "-m", msg)
    return git(root, "rev-parse", "HEAD").strip()


def tarball(src: Path, out: Path, top: str = "linux-source-6.12") -> Path:
    with tarfile.open(out, "w:xz") as tf:
        for p in sorted(src.rglob("*")):
            if ".git" in p.relative_to(src).parts:
                continue
            tf.add(p, arcname=f"{top}/{p.relative_to(src)}", recursive=False)
    return out


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    c = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE", str(c))
    return c


@pytest.fixture
def runner() -> Runner:
    return Runner()


def series_dir(cache: Path, name: str) -> Path:
    d = cache / "series" / name
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_manifest(cache: Path, name: str, revisions: list[dict], **top) -> Path:
    d = series_dir(cache, name)
    data = {"name": name, "title": f"{name} test series", "authors": ["Ann Dev <ann@example.org>"],
            "list": "bpf@vger.kernel.org", **top, "revisions": revisions}
    (d / "series.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return d


def format_patches(repo: Path, rng: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    names = git(repo, "format-patch", "-q", "--no-signature", "-o", str(out), rng).split()
    return sorted(out.glob("*.patch")) or [Path(n) for n in names]


def demo_commits(repo: Path, variant: str = "v1") -> None:
    """Two patches: one edits fs/namei.c line 5; one adds a file and edits iter.c."""
    edit(repo, "fs/namei.c", "int namei_5;\n", "int namei_5 = 5;\n")
    commit(repo, "fs: give namei_5 a value")
    (repo / "kernel/bpf/path_iter.c").write_text(path_iter_c(variant))
    edit(repo, "kernel/bpf/iter.c", "int iter_20;\n", "int iter_20 = 20;\n")
    commit(repo, "bpf: add a path iterator")


def path_iter_c(variant: str) -> str:
    body = "".join(f"int path_iter_step_{i}(void) {{ return {i}; }}\n" for i in range(12))
    kind = "int" if variant == "v1" else "long"
    return f"/* path iterator */\n{body}{kind} path_iter_depth;\n"
