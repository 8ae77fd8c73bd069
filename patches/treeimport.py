"""`tree import`: make a git repository with a tagged base commit from a kernel source.

Trees live in cache_dir()/trees/<name> (bare repositories; worktrees hang off them).
Importing the same input twice is a no-op: each tree records the key of its input.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InfraError, InputError
from common.fsutil import cache_dir, read_json, write_json

from . import aptsource, archive, debsource
from .gitutil import git, rev_parse
from .treedefs import NAME_RE, TreeDef, find_treedef

BASE_TAG = "base"
RECORD = "kharness-tree.json"
URL_RE = re.compile(r"^(https?|git|ssh|file)://|^[\w.-]+@[\w.-]+:")
OTHER_SOURCES = ("a linux-source .deb, a .tar.xz/.tar.gz tarball, a Debian .dsc, "
                 "a directory, or a git URL/checkout with --ref")


@dataclass
class ImportRequest:
    source: str                 # path, URL, or the name of a tree definition
    ref: str | None = None      # for git sources
    name: str | None = None     # default: derived from the source


@dataclass
class ImportResult:
    name: str
    repo: Path
    commit: str
    tags: list[str]
    kind: str                   # deb, tarball, dsc, dir, git, apt
    key: str
    reused: bool = False
    series: list[str] = field(default_factory=list)   # series made from it (dsc)
    notes: list[str] = field(default_factory=list)


@dataclass
class TreeInfo:
    name: str
    repo: Path
    commit: str
    tags: list[str]
    kind: str
    source: str
    key: str


def trees_dir() -> Path:
    return cache_dir() / "trees"


def tree_repo(name: str) -> Path:
    return trees_dir() / name


def tree_info(name: str) -> TreeInfo | None:
    rec = tree_repo(name) / RECORD
    if not NAME_RE.match(name or "") or not rec.is_file():
        return None
    d = read_json(rec)
    return TreeInfo(d["name"], tree_repo(name), d["commit"], d["tags"], d["kind"],
                    d["source"], d["key"])


def list_trees() -> list[TreeInfo]:
    if not trees_dir().is_dir():
        return []
    return [t for t in (tree_info(p.name) for p in sorted(trees_dir().iterdir())) if t]


def classify(req: ImportRequest) -> tuple[str, Path | None, TreeDef | None]:
    """(kind, local path, tree definition) for a source."""
    p = Path(req.source).expanduser()
    if p.exists():
        if p.is_dir():
            return ("git" if (p / ".git").exists() or req.ref else "dir"), p.resolve(), None
        name = p.name
        if name.endswith(".deb"):
            return "deb", p.resolve(), None
        if name.endswith(".dsc"):
            return "dsc", p.resolve(), None
        if archive.TAR_RE.search(name):
            return "tarball", p.resolve(), None
        raise InputError("unknown source type (not .deb, .dsc, .tar.*, dir or git)",
                         path=str(p))
    if URL_RE.match(req.source):
        return "git", None, None
    td = find_treedef(req.source)
    if td is not None:
        return ("apt" if "apt" in td.source else "git"), None, td
    raise InputError(f"no such file, directory, URL or tree definition: {req.source!r}",
                     hint=f"a source is {OTHER_SOURCES}")


def default_name(kind: str, req: ImportRequest, path: Path | None) -> str:
    base = path.name if path else req.source.rstrip("/").rsplit("/", 1)[-1]
    if kind == "deb":
        m = re.match(r"^linux-source-(\d+\.\d+)", base)
        name = f"debian-{m.group(1)}" if m else base.split("_")[0]
    elif kind == "tarball":
        name = archive.TAR_RE.sub("", base)
    elif kind == "dsc":
        name = base.removesuffix(".dsc").replace("_", "-")
    elif kind == "git":
        name = base.removesuffix(".git") + (f"-{req.ref}" if req.ref else "")
    else:
        name = base
    name = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.")
    return name or "tree"


def import_tree(req: ImportRequest, runner) -> ImportResult:
    """Import `req.source` as tree `req.name`. A no-op when it is already there from the
    same input, or when the source is the name of an imported tree; InputError when the
    name is taken by a different input."""
    info = tree_info(req.source) if not Path(req.source).exists() else None
    if info is not None and req.name in (None, info.name) and req.ref is None:
        return ImportResult(info.name, info.repo, info.commit, info.tags, info.kind,
                            info.key, reused=True)
    kind, path, td = classify(req)
    if td is not None:
        return import_defined(td, req, runner)
    name = req.name or default_name(kind, req, path)
    if not NAME_RE.match(name):
        raise InputError(f"bad tree name {name!r} (lower-case letters, digits, . _ -)")
    key, commit = input_key(kind, path, req, runner)
    return import_keyed(name, kind, key, req, path, runner, commit)


def import_defined(td: TreeDef, req: ImportRequest, runner) -> ImportResult:
    """A tree named by its definition: a git URL and ref, or a Debian package."""
    name = req.name or td.name
    if "git" in td.source:
        ref = req.ref or td.source.get("ref")
        return import_tree(ImportRequest(str(td.source["git"]), ref, name), runner)
    pkg, version = str(td.source["apt"]), td.source.get("version")
    spec = f"{pkg}={version}" if version else pkg
    key = f"apt:{spec}"
    done = existing(name, key)
    if done is not None:
        return done
    if shutil.which("apt-get") is None:
        raise InfraError(f"apt-get is not available, so {spec} cannot be downloaded",
                         hint=f"import the tree from {OTHER_SOURCES}, e.g. "
                              f"harness.py tree import /path/to/{pkg}_*.deb --name {name}")
    return import_keyed(name, "deb", key, req, aptsource.download(runner, pkg, version),
                        runner)


def import_keyed(name, kind, key, req, path, runner, commit=None) -> ImportResult:
    done = existing(name, key)
    if done is not None:
        return done
    tmp = trees_dir() / f".import-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        res = _build(name, kind, key, req, path, runner, tmp, commit)
        os.replace(tmp / "repo.git", tree_repo(name))
        return res
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def existing(name: str, key: str) -> ImportResult | None:
    info = tree_info(name)
    if info is None:
        if tree_repo(name).exists():
            raise InfraError(f"{tree_repo(name)} exists but is not a kharness tree",
                             hint="move it away, or import under another --name")
        return None
    if info.key != key:
        raise InputError(f"tree {name!r} was imported from another input ({info.source})",
                         hint="pass --name to import this one beside it")
    return ImportResult(name, info.repo, info.commit, info.tags, info.kind, key, reused=True)


def input_key(kind: str, path: Path | None, req: ImportRequest, runner) -> tuple[str, str | None]:
    if kind in ("deb", "tarball", "dsc"):
        return f"{kind}:sha256:{archive.file_sha256(path)}", None
    if kind == "dir":
        return f"dir:{dir_fingerprint(path)}", None
    commit = resolve_git(req, path, runner)
    return f"git:{commit}", commit


def dir_fingerprint(root: Path) -> str:
    """A hash over every file's path, size and mtime (not contents: kernel trees are big)."""
    import hashlib
    h = hashlib.sha256(str(root).encode())
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for f in sorted(filenames):
            st = os.lstat(os.path.join(dirpath, f))
            rel = os.path.relpath(os.path.join(dirpath, f), root)
            h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def resolve_git(req: ImportRequest, path: Path | None, runner) -> str:
    ref = req.ref or "HEAD"
    if path is not None:
        res = git(runner, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
                  cwd=path, check=False)
        if res.returncode != 0:
            raise InputError(f"ref {ref!r} does not exist in {path}")
        return res.stdout.strip()
    res = git(runner, ["ls-remote", req.source, ref], check=False, timeout=60)
    if res.returncode != 0:
        raise InfraError(f"cannot reach {req.source}: {res.stderr.strip()[-300:]}",
                         hint=f"offline? import {OTHER_SOURCES} instead")
    found = {}
    for ln in res.stdout.splitlines():
        sha, _, rname = ln.partition("\t")
        found[rname.strip()] = sha.strip()
    for cand in (f"refs/tags/{ref}^{{}}", ref, f"refs/heads/{ref}", f"refs/tags/{ref}"):
        if cand in found:
            return found[cand]
    raise InputError(f"ref {ref!r} does not exist at {req.source}")


def _build(name, kind, key, req, path, runner, tmp: Path, commit) -> ImportResult:
    repo = tmp / "repo.git"
    git(runner, ["init", "-q", "--bare", str(repo)])
    notes: list[str] = []
    series: list[str] = []
    dsc = None
    if kind == "git":
        git(runner, ["fetch", "-q", "--no-tags", str(path or req.source), req.ref or "HEAD"],
            git_dir=repo, error=InfraError)
        head = rev_parse(runner, repo, "FETCH_HEAD") or ""
        if head != commit:
            raise InfraError(f"{req.source} {req.ref or 'HEAD'} moved while importing "
                             f"({commit} -> {head}); import again")
    else:
        root, dsc = _unpack(kind, path, runner, tmp)
        if archive.drop_debian_gitignore(root):
            notes.append("Dropped Debian's top-level .gitignore block (\"# Debian packaging\","
                         " /*), which ignores every top-level file.")
        head = _commit_tree(runner, repo, root, f"{name}: import of {path.name}", notes,
                            force=kind != "dir")
    tags = _tag(runner, repo, head)
    write_json(repo / RECORD, {"name": name, "commit": head, "tags": tags, "kind": kind,
                               "source": str(path or req.source), "key": key,
                               "ref": req.ref, "notes": notes})
    if kind == "dsc":
        series.append(debsource.make_series(dsc, name, tmp / "debian-src"))
    return ImportResult(name, tree_repo(name), head, tags, kind, key, series=series,
                        notes=notes)


def _unpack(kind, path: Path, runner, tmp: Path):
    if kind == "deb":
        return archive.unpack_deb(runner, path, tmp), None
    if kind == "tarball":
        return archive.untar(runner, path, tmp / "src"), None
    if kind == "dsc":
        dsc = archive.parse_dsc(path)
        root = archive.untar(runner, dsc.orig, tmp / "src")
        archive.untar(runner, dsc.debian, tmp / "debian-src")
        return root, dsc
    dest = tmp / "src"
    shutil.copytree(path, dest, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return dest, None


def _commit_tree(runner, repo: Path, root: Path, title: str, notes: list[str],
                 force: bool) -> str:
    add = ["add", "-A"] + (["-f"] if force else []) + ["."]
    git(runner, ["-c", "core.looseCompression=1"] + add, git_dir=repo, work_tree=root,
        cwd=root)
    msg = title + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
    git(runner, ["commit", "-q", "--no-verify", "-F", "-"], git_dir=repo, work_tree=root,
        cwd=root, input=msg)
    return rev_parse(runner, repo, "HEAD") or ""


def _tag(runner, repo: Path, commit: str) -> list[str]:
    tags = [BASE_TAG]
    git(runner, ["tag", "-f", BASE_TAG, commit], git_dir=repo)
    mk = git(runner, ["show", f"{commit}:Makefile"], git_dir=repo, check=False)
    ver = archive.kernel_version(mk.stdout) if mk.returncode == 0 else None
    if ver and ver != BASE_TAG:
        git(runner, ["tag", "-f", ver, commit], git_dir=repo)
        tags.append(ver)
    return tags
