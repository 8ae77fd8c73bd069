"""Known splats per tree, like BPF CI's splat allow list.

`patches/trees/<tree>/splats.yaml` lists splats the tree is known to print. A
listed splat is reported everywhere (as an expected failure) but does not fail
the job; any other splat fails it. Each entry names its splat by a regular
expression over `kind: title` (the normalized headline, as the reports print
it), or by the 16-hex-digit fingerprint of one splat, and carries a written
reason. An entry may expire: after that date it still applies, and warns.

    splats:
      - match: '^warning: .*kernel/bpf/verifier\\.c'
        reason: why it is known, and what will fix it
        expires: 2027-03-01
      - fingerprint: 0123456789abcdef
        reason: ...
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from common.errors import InputError
from common.fsutil import REPO_ROOT
from common.yamlfile import Located, LocatedList, line_of, load_yaml

from .model import Splat

TREES_DIR = REPO_ROOT / "patches" / "trees"
FILE = "splats.yaml"
KEYS = {"match", "fingerprint", "reason", "expires"}
FINGERPRINT = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class KnownSplat:
    reason: str
    match: re.Pattern | None = None
    fingerprint: str | None = None
    expires: dt.date | None = None
    where: str = ""                  # file:line, for warnings

    def matches(self, sp: Splat) -> bool:
        if self.fingerprint is not None:
            return sp.fingerprint == self.fingerprint
        return self.match is not None and bool(self.match.search(f"{sp.kind}: {sp.title}"))


def _bad(msg: str, path: Path, obj=None, key=None):
    raise InputError(msg, path=str(path), line=line_of(obj, key) if obj is not None else None)


def _pattern(e: Located, path: Path) -> re.Pattern | None:
    if "match" not in e:
        return None
    if not isinstance(e["match"], str) or not e["match"]:
        _bad("'match' must be a non-empty regular expression", path, e, "match")
    try:
        return re.compile(e["match"])
    except re.error as err:
        _bad(f"bad regular expression in 'match': {err}", path, e, "match")


def _entry(e, path: Path) -> KnownSplat:
    if not isinstance(e, Located):
        _bad("each entry must be a mapping", path, e)
    for k in e:
        if k not in KEYS:
            _bad(f"unknown key {k!r} (use match or fingerprint, reason, expires)", path, e, k)
    if ("match" in e) == ("fingerprint" in e):
        _bad("an entry needs exactly one of 'match' and 'fingerprint'", path, e)
    fp = e.get("fingerprint")
    if fp is not None and not (isinstance(fp, str) and FINGERPRINT.match(fp)):
        _bad("'fingerprint' must be 16 hex digits", path, e, "fingerprint")
    reason = e.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        _bad("'reason' must say why this splat is known", path, e, "reason" if "reason" in e
             else None)
    expires = e.get("expires")
    if expires is not None and not isinstance(expires, dt.date):
        _bad("'expires' must be a date (YYYY-MM-DD)", path, e, "expires")
    return KnownSplat(" ".join(reason.split()), _pattern(e, path), fp, expires,
                      f"{path}:{line_of(e)}")


def load_splat_list(path: Path) -> list[KnownSplat]:
    """The entries of one splats.yaml. Raises InputError naming file and line."""
    path = Path(path)
    data = load_yaml(path)
    if not isinstance(data, Located) or set(data) != {"splats"}:
        _bad("splats.yaml must be a mapping with one key, 'splats'", path, data)
    entries = data["splats"]
    if not isinstance(entries, LocatedList):
        _bad("'splats' must be a list", path, data, "splats")
    return [_entry(e, path) for e in entries]


def tree_splat_list(tree: str, trees_dir: Path = TREES_DIR) -> list[KnownSplat]:
    """The tree's known splats; none when it has no splats.yaml."""
    path = Path(trees_dir) / tree / FILE
    return load_splat_list(path) if path.exists() else []


def expired(entries: list[KnownSplat], today: dt.date | None = None) -> list[str]:
    """A warning for each entry past its expiry date."""
    today = today or dt.date.today()
    return [f"{e.where}: known splat entry expired on {e.expires} (still applied): {e.reason}"
            for e in entries if e.expires is not None and e.expires < today]


def mark_known(splats: list[Splat], entries: list[KnownSplat]) -> None:
    """Set `known` (the entry's reason) on each splat an entry lists."""
    for sp in splats:
        hit = next((e for e in entries if e.matches(sp)), None)
        sp.known = hit.reason if hit else ""
