"""A tree definition's Debian package (patches/trees/<tree>/tree.yaml `source: apt:`),
fetched with `apt-get download` (no root needed) into the downloads cache."""
from __future__ import annotations

from pathlib import Path

from common.errors import InfraError, InputError
from common.fsutil import cache_dir


def downloads_dir() -> Path:
    return cache_dir() / "downloads"


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
