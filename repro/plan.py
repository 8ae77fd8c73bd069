"""Plan a reproduction: which series revision, which config, which compiler, which
make targets. Every substitution is stated, never silent."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.errors import InputError

from .report import RobotReport

PATCH_NO = re.compile(r"\[[^\]]*?(\d+)/(\d+)\]")
SUBJECT_PREFIX = re.compile(r"^\s*(?:Re:\s*)?\[[^\]]*\]\s*")


@dataclass
class Plan:
    series: str
    rev: str
    upto: int | None
    tree: str | None
    profile: str | None
    config_file: str | None
    make_flags: list[str]
    targets: list[str]
    compiler: str
    substitutions: list[str] = field(default_factory=list)
    kind: str = "build"
    suites: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def cover_id(patch_id: str) -> str:
    """20250617061116.3681325-2-song@kernel.org -> ...-1-song@kernel.org (the cover)."""
    return re.sub(r"-\d+-([^@]+@)", r"-1-\1", patch_id, count=1)


def _has_patches(series, rev) -> bool:
    from patches.source import revision_status
    return revision_status(series, rev).state == "present"


def _by_message_id(all_series, mid: str):
    want = {mid, cover_id(mid)}
    for s in all_series:
        posted = [r for r in s.revisions if r.message_id in want]
        for r in posted:
            if _has_patches(s, r):
                return s, r, []
            ports = [p for p in s.revisions if p.upstream == r.label and _has_patches(s, p)]
            if ports:
                return s, ports[0], [f"the report's patch is from {s.name}@{r.label}; its "
                                     f"patches are not here, so its port {ports[0].label} "
                                     "is used"]
    return None


def _by_subject(all_series, subject: str):
    from patches.source import load_patches
    want = SUBJECT_PREFIX.sub("", subject or "").strip()
    for s in all_series:
        for r in reversed(s.revisions):
            if _has_patches(s, r) and any(p.subject == want for p in load_patches(s, r)):
                return s, r, [f"matched by subject '{want}' (message-id unknown here)"]
    return None


def find_revision(rep: RobotReport, series_arg: str | None):
    from patches.manifest import all_series, find_series, parse_spec
    if series_arg:
        name, rev = parse_spec(series_arg)
        s = find_series(name)
        return s, s.revision(rev or s.revisions[-1].label), []
    series = all_series()
    hit = (_by_message_id(series, rep.patch_message_id) if rep.patch_message_id else None) \
        or _by_subject(series, rep.patch_subject)
    if hit is None:
        raise InputError(f"no series revision in patches/ matches the report's patch "
                         f"({rep.patch_message_id or rep.patch_subject})", path=rep.source,
                         hint="pass --series SERIES@REV")
    return hit


def patch_index(rep: RobotReport) -> int | None:
    m = PATCH_NO.search(rep.patch_subject or "")
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def choose_config(rep: RobotReport, config: Path | None, profile: str | None) -> tuple:
    """(config file or None, profile or None, substitutions)."""
    beside = Path(rep.source).parent / "config"
    if config is None and beside.is_file():
        config = beside
    if config is not None:
        if not Path(config).is_file():
            raise InputError("config file not found", path=str(config))
        return str(config), None, []
    if profile:
        return None, profile, [f"the report's config ({rep.config_name}) is not here; using "
                               f"profile '{profile}' as asked (--profile)"]
    url = rep.config_url or "the report's config URL"
    raise InputError(f"the report's config ({rep.config_name or 'unnamed'}) is not here and "
                     "this machine cannot fetch it", path=rep.source,
                     hint=f"fetch {url} and pass --config FILE (or put it beside the report "
                          "as 'config'), or choose --profile P and accept the substitution")


def choose_compiler(rep: RobotReport) -> tuple[str, list[str]]:
    """(toolchain for the build, substitutions)."""
    c = rep.compiler
    if c is None:
        return "gcc", ["the report names no compiler; using gcc"]
    if c.name == "clang":
        if c.major == 19:
            return "llvm-19", []
        return "llvm-19", [f"clang {c.version} is not the installed clang; using clang-19"]
    if c.cross_prefix and not c.cross_prefix.startswith("x86_64"):
        arch = c.cross_prefix.split("-")[0]
        return "gcc", [f"{c.cross_prefix}-gcc {c.version} is not installed; using the host "
                       f"gcc for x86_64. Diagnostics that do not depend on the arch "
                       f"(kernel-doc, most W=1 warnings) reproduce; for the rest install "
                       f"Debian's cross compiler if it exists: apt-get install "
                       f"gcc-{arch}-linux-gnu"]
    return "gcc", ([] if c.version and c.version.startswith("12")
                   else [f"gcc {c.version} is not installed; using the host gcc 12"])


def targets_for(rep: RobotReport) -> list[str]:
    """What to build: the report's targets, else the objects of the reported files."""
    if rep.make_targets:
        return list(rep.make_targets)
    objs = []
    for d in rep.diagnostics:
        if d.file.endswith(".c"):
            obj = d.file.lstrip("./")[:-2] + ".o"
            if obj not in objs:
                objs.append(obj)
    return objs


def make_plan(rep: RobotReport, args) -> Plan:
    series, rev, notes = find_revision(rep, getattr(args, "series", None))
    config, profile, cnotes = choose_config(rep, getattr(args, "config", None),
                                            getattr(args, "profile", None))
    toolchain, tnotes = choose_compiler(rep)
    k = patch_index(rep)
    total = len(_patches(series, rev))
    upto = k if k is not None and k < total and not getattr(args, "series", None) else None
    flags = list(rep.make_flags) or (["W=1"] if rep.w1 else [])
    suites = [series.name] if rep.kind == "runtime" else []
    return Plan(series.name, rev.label, upto, getattr(args, "tree", None), profile, config,
                flags, targets_for(rep) if rep.kind == "build" else [], toolchain,
                notes + cnotes + tnotes, rep.kind, suites)


def _patches(series, rev):
    from patches.source import load_patches
    return load_patches(series, rev)
