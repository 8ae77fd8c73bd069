"""A Debian source package's debian/patches quilt series, as a series of its own."""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import yaml

from common.errors import InputError
from common.fsutil import atomic_write, cache_dir

from .archive import Dsc


def make_series(dsc: Dsc, tree: str, unpacked: Path) -> str:
    """Write cache_dir()/series/<tree>-debian/ from the unpacked debian tarball; the
    series name. The quilt series file is checked when the series is applied."""
    patches = unpacked / "debian" / "patches"
    if not (patches / "series").is_file():
        raise InputError("the Debian tarball has no debian/patches/series", path=str(dsc.debian))
    from .source import quilt_entries
    quilt_entries(patches / "series")   # every entry inside patches/ (checked again on apply)
    name = f"{tree}-debian"
    label = re.sub(r"[^A-Za-z0-9._+-]", "_", dsc.version)
    root = cache_dir() / "series"
    tmp = root / f".{name}.{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(patches, tmp / label, symlinks=True)   # never copy a link's target
    manifest = {
        "name": name,
        "title": f"Debian patches of {dsc.source} {dsc.version}",
        "authors": [dsc.maintainer],
        "list": "debian-kernel@lists.debian.org",
        "revisions": [{
            "version": label,
            "base": {"tree": tree, "ref": "base"},
            "source": {"quilt": f"{label}/series"},
            "notes": f"Made by tree import from {dsc.path.name}; the tree is the vanilla "
                     f"{dsc.orig.name}, these are its debian/patches.",
        }],
    }
    atomic_write(tmp / "series.yaml", yaml.safe_dump(manifest, sort_keys=False))
    final = root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return name
