"""Unpack tree sources into a staging dir: tarballs, Debian .debs and .dsc source
packages. Debian's top-level .gitignore block is dropped here."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from common.errors import InputError

TAR_RE = re.compile(r"\.(tar\.xz|tar\.gz|tgz|tar\.bz2|tar\.zst|tar)$")
DEBIAN_BLOCK_RE = re.compile(r"^#\s*Debian packaging", re.IGNORECASE)
TIMEOUT = 1800


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def untar(runner, tarball: Path, dest: Path) -> Path:
    """Extract into dest; the root of the tree (the single top dir, if there is one)."""
    dest.mkdir(parents=True, exist_ok=True)
    runner.run(["tar", "-xf", str(tarball), "-C", str(dest), "--no-same-owner"],
               check=True, timeout=TIMEOUT, error=InputError)
    return tree_root(dest)


def tree_root(dest: Path) -> Path:
    entries = [p for p in dest.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest


def unpack_deb(runner, deb: Path, work: Path) -> Path:
    """A linux-source-X.Y .deb: dpkg-deb -x, then the tarball under usr/src/."""
    raw = work / "deb"
    raw.mkdir(parents=True)
    runner.run(["dpkg-deb", "-x", str(deb), str(raw)], check=True, timeout=TIMEOUT,
               error=InputError)
    tars = sorted(p for p in (raw / "usr" / "src").glob("*") if TAR_RE.search(p.name)) \
        if (raw / "usr" / "src").is_dir() else []
    if len(tars) != 1:
        raise InputError("not a linux-source .deb: expected one tarball under usr/src/, "
                         f"found {len(tars)}", path=str(deb))
    return untar(runner, tars[0], work / "src")


def drop_debian_gitignore(root: Path) -> bool:
    """Remove the "# Debian packaging" block (which ignores the whole top level) from
    the top-level .gitignore. True when there was one."""
    gi = root / ".gitignore"
    if not gi.is_file():
        return False
    lines = gi.read_text(errors="surrogateescape").splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if DEBIAN_BLOCK_RE.match(ln)), None)
    if start is None:
        return False
    while start > 0 and lines[start - 1].strip() == "#":
        start -= 1
    end = start
    while end < len(lines) and lines[end].startswith("#"):
        end += 1
    while end < len(lines) and lines[end].strip():
        end += 1
    while start > 0 and not lines[start - 1].strip():
        start -= 1
    gi.write_text("".join(lines[:start] + lines[end:]), errors="surrogateescape")
    return True


def kernel_version(makefile_text: str) -> str | None:
    """v<VERSION>.<PATCHLEVEL>[.<SUBLEVEL>][EXTRAVERSION] from the top Makefile."""
    vals = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL", "EXTRAVERSION"):
        m = re.search(rf"^{key}\s*=\s*(\S*)\s*$", makefile_text, re.MULTILINE)
        vals[key] = m.group(1) if m else ""
    if not vals["VERSION"].isdigit() or not vals["PATCHLEVEL"].isdigit():
        return None
    v = f"v{vals['VERSION']}.{vals['PATCHLEVEL']}"
    if vals["SUBLEVEL"] not in ("", "0"):
        v += f".{vals['SUBLEVEL']}"
    extra = vals["EXTRAVERSION"]
    return v + extra if re.match(r"^[A-Za-z0-9.-]*$", extra) else v


@dataclass
class Dsc:
    path: Path
    source: str
    version: str
    maintainer: str
    orig: Path
    debian: Path


def parse_dsc(path: Path) -> Dsc:
    """The fields of a Debian .dsc (format 3.0 (quilt)); its files must be next to it
    with the sha256 it names."""
    spath = str(path)
    text = path.read_text(errors="replace")
    fields: dict[str, tuple[int, str]] = {}
    key = None
    for n, ln in enumerate(text.splitlines(), 1):
        if ln.startswith("-----BEGIN PGP") or ln.startswith("Hash:"):
            continue
        if ln.startswith("-----BEGIN PGP SIGNATURE"):
            break
        m = re.match(r"^([A-Za-z0-9-]+):\s*(.*)$", ln)
        if m:
            key = m.group(1)
            fields[key] = (n, m.group(2))
        elif ln.startswith(" ") and key:
            fields[key] = (fields[key][0], fields[key][1] + "\n" + ln.strip())
    for k in ("Format", "Source", "Version", "Checksums-Sha256"):
        if k not in fields:
            raise InputError(f"not a .dsc: no {k}: field", path=spath, line=1)
    if fields["Format"][1].strip() != "3.0 (quilt)":
        raise InputError(f"unsupported source format {fields['Format'][1]!r} "
                         "(only 3.0 (quilt))", path=spath, line=fields["Format"][0])
    orig = deb = None
    line0, body = fields["Checksums-Sha256"]
    for i, entry in enumerate(l for l in body.splitlines() if l.strip()):
        parts = entry.split()
        if len(parts) != 3:
            raise InputError(f"bad Checksums-Sha256 line {entry!r}", path=spath, line=line0 + i)
        sha, _, name = parts
        if "/" in name or name.startswith("."):
            raise InputError(f"bad file name {name!r}", path=spath, line=line0 + i)
        f = path.parent / name
        if not f.is_file():
            raise InputError(f"{name} is missing (it must be next to the .dsc)",
                             path=spath, line=line0 + i)
        if file_sha256(f) != sha:
            raise InputError(f"{name}: sha256 does not match the .dsc", path=spath,
                             line=line0 + i)
        if ".orig.tar." in name:
            orig = f
        elif ".debian.tar." in name:
            deb = f
    if orig is None or deb is None:
        raise InputError("a 3.0 (quilt) .dsc needs an .orig.tar.* and a .debian.tar.*",
                         path=spath, line=line0)
    return Dsc(path, fields["Source"][1].strip(), fields["Version"][1].strip(),
               fields.get("Maintainer", (0, "Debian"))[1].strip(), orig, deb)
