"""Trees named by a definition (patches/trees/<tree>/tree.yaml): a Debian package
fetched with `apt-get download` (no root needed), or a git URL and ref."""
from __future__ import annotations

import shutil
from pathlib import Path

from common.errors import InfraError, InputError
from common.fsutil import cache_dir

from .treedefs import TreeDef


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


def import_defined(td: TreeDef, req, runner):
    from .treeimport import ImportRequest, OTHER_SOURCES, existing, import_keyed, import_tree
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
    deb = download(runner, pkg, version)
    return import_keyed(name, "deb", key, req, deb, runner)


def download(runner, pkg: str, version: str | None) -> Path:
    """The package's .deb in the downloads cache (downloaded once)."""
    dl = downloads_dir()
    dl.mkdir(parents=True, exist_ok=True)
    ver = version.replace(":", "%3a") if version else "*"
    have = sorted(dl.glob(f"{pkg}_{ver}_*.deb"))
    if have and version:
        return have[-1]
    spec = f"{pkg}={version}" if version else pkg
    res = runner.run(["apt-get", "download", spec], cwd=dl, timeout=1800)
    if res.returncode != 0:
        raise InfraError(f"apt-get download {spec} failed: {(res.stderr or res.stdout)[-500:]}",
                         hint="run 'apt-get update' (as root) if the package lists are old; "
                              "or import the .deb by path")
    have = sorted(dl.glob(f"{pkg}_{ver}_*.deb"))
    if not have:
        raise InputError(f"apt-get download {spec} left no {pkg}_*.deb in {dl}")
    return have[-1]
