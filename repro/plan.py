"""Plan a reproduction: which series revision, which config, which compiler, which
make targets. Every substitution is stated, never silent."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common.errors import InputError, UsageError

from .report import RobotReport

HOST_CLANG = "llvm-19"        # the installed clang (setup.sh: clang-19)
HOST_GCC = "12"               # Debian 12's gcc and its cross compilers
# The job options repro takes from the job table; the report gives the rest (the
# series revision, its patch number, what to build and how), and a given option
# overrides what the report says (stated as a substitution where it differs).
REPRO_OPTIONS = ("tree", "profile", "fragments", "toolchain", "arch", "suites", "accel",
                 "rebuild", "allow_drop", "make_flags", "targets")

# make variables a report's make line has that the job sets itself
OWN_VARS = {"ARCH": "the job's --arch", "LLVM": "the job's --toolchain",
            "CC": "the job's --toolchain", "O": "the harness chooses the build dir",
            "CROSS_COMPILE": "the job's --arch",
            "SHELL": "make.cross's own; the kernel's make picks its shell"}

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
    arch: str = "x86_64"
    suite_doc: dict | None = None     # a runtime report's testcase as a suite file

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
        or _by_subject(series, rep.patch_subject or rep.commit_subject)
    if hit is None:
        raise InputError(f"no series revision in patches/ matches the report's patch "
                         f"({rep.patch_message_id or rep.patch_subject or rep.commit_subject})",
                         path=rep.source,
                         hint="pass --series SERIES@REV")
    return hit


def patch_index(rep: RobotReport) -> int | None:
    m = PATCH_NO.search(rep.patch_subject or "")
    return int(m.group(1)) if m and int(m.group(1)) > 0 else None


def choose_config(rep: RobotReport, config: Path | None, profile: str | None) -> tuple:
    """(config file or None, profile, substitutions). The report's own .config
    (`--config FILE`, or `config` beside the email) is the whole config (profile
    `whole`); else `--profile P`, else the arch's defconfig, each stated."""
    beside = Path(rep.source).parent / "config"
    if config is None and beside.is_file():
        config = beside
    name = rep.config_name or "unnamed"
    if config is not None:
        if not Path(config).is_file():
            raise InputError("config file not found", path=str(config))
        return str(Path(config).resolve()), "whole", []
    fetch = (f"fetch {rep.config_url} and pass --config FILE" if rep.config_url
             else "pass the report's config as --config FILE")
    if profile:
        return None, profile, [f"the report's config ({name}) is not here; using "
                               f"profile '{profile}' as asked (--profile)"]
    return None, "defconfig", [f"the report's config ({name}) is not here; building the "
                               f"arch's defconfig instead ({fetch} for the robot's own)"]


def report_arch(rep: RobotReport) -> str | None:
    """The kernel ARCH of the report: its make line's ARCH=, else its config name's
    first word, else its compiler's cross prefix."""
    from kbuild.toolchain import ARCHES, PREFIX_ARCH
    cands = [rep.make_arch, rep.config_name.split("-", 1)[0] if rep.config_name else None,
             rep.compiler.cross_prefix.split("-", 1)[0]
             if rep.compiler and rep.compiler.cross_prefix else None]
    for c in cands:
        if c in ARCHES:
            return c
        if c in PREFIX_ARCH:
            return PREFIX_ARCH[c]
    return None


def choose_compiler(rep: RobotReport, arch: str | None = None,
                    arch_given: bool = False) -> tuple[str, list[str]]:
    """(toolchain for the build of `arch`, substitutions). gcc is Debian's gcc 12
    (a cross gcc-12-<triplet> for another arch), clang is clang-19; an arch the
    report's compiler cannot build here falls back to the other one, stated. An
    arch neither builds raises UsageError: cannot build ARCH here."""
    from kbuild.toolchain import cannot_build, find_arch, toolchain
    c = rep.compiler
    want = report_arch(rep)
    arch = arch or want or "x86_64"
    a = find_arch(arch)
    if not a.gcc and not a.llvm:
        raise UsageError(cannot_build(a))
    notes = []
    if want and want != arch:
        notes.append(f"building ARCH={arch} instead of the report's {want} as asked (--arch)")
    if c is None:
        tc = "gcc" if a.gcc else HOST_CLANG
        notes.append(f"the report names no compiler; using {toolchain(tc, arch).cc}")
        return tc, notes
    tc = HOST_CLANG if c.name == "clang" else "gcc"
    if tc == "gcc" and not a.gcc:
        notes.append(f"{c.raw}: no gcc for {arch} in Debian; using clang-19 "
                     f"(LLVM=-19 ARCH={arch})")
        return HOST_CLANG, notes
    if tc != "gcc" and not a.llvm:
        notes.append(f"{c.raw}: {arch} is not an LLVM target of the kernel; using "
                     f"{toolchain('gcc', arch).cc}")
        return "gcc", notes
    cc = toolchain(tc, arch).cc
    if tc != "gcc":
        if c.major != 19:
            notes.append(f"clang {c.version} is not the installed clang; using {cc}")
    elif c.cross_prefix and not c.cross_prefix.startswith("x86_64"):
        why = (f" for {arch} as asked (--arch {arch}); diagnostics that do not depend on "
               "the arch (kernel-doc, most W=1 warnings) reproduce" if want != arch else "")
        local = "the host gcc" if cc == "gcc" else f"Debian's {cc}"
        notes.append(f"{c.cross_prefix}-gcc {c.version} is not installed; using {local}{why}")
    elif not (c.version or "").startswith(HOST_GCC):
        notes.append(f"gcc {c.version} is not installed; using the host gcc {HOST_GCC}")
    return tc, notes


def make_flags_for(rep: RobotReport) -> tuple[list[str], list[str]]:
    """(the report's make flags for the job, substitutions): CF=, W=, C=, KCFLAGS=
    ... pass; what the job itself sets (ARCH, LLVM, CC, O) is left out and said."""
    flags, notes = [], []
    for f in rep.make_flags:
        var = f.partition("=")[0]
        if var in OWN_VARS:
            if var not in ("ARCH", "LLVM"):
                notes.append(f"the report's {f} is not passed to make: {OWN_VARS[var]}")
            continue
        flags.append(f)
    if rep.w1 and not any(f.startswith("W=") for f in flags):
        flags.insert(0, "W=1")
    return flags, notes


def targets_for(rep: RobotReport) -> list[str]:
    """What to build: the report's targets, else the objects of the reported files.
    A report's target that is not an object, dir or image (an install target, an
    absolute path, `..`) is refused: the report is untrusted input."""
    from pipeline.check import target_ok
    bad = [t for t in rep.make_targets if not target_ok(t)]
    if bad:
        raise InputError(f"the report's make line asks for {' '.join(bad)}: only objects, "
                         "dirs and images (fs/namei.o, fs/, vmlinux) are built from a report",
                         path=rep.source)
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
    arch_arg = getattr(args, "arch", None)
    toolchain, tnotes = choose_compiler(rep, arch_arg, arch_given=arch_arg is not None)
    asked = getattr(args, "toolchain", None)
    if asked and asked != toolchain:
        tnotes = [n for n in tnotes if "is not installed" not in n and "using clang" not in n]
        tnotes.append(f"using --toolchain {asked} as asked instead of the report's compiler "
                      f"({rep.compiler.raw if rep.compiler else 'none named'})")
        toolchain = asked
    arch = arch_arg or report_arch(rep) or "x86_64"
    series, rev, notes = find_revision(rep, getattr(args, "series", None))
    config, profile, cnotes = choose_config(rep, getattr(args, "config", None),
                                            getattr(args, "profile", None))
    k = patch_index(rep)
    total = len(_patches(series, rev))
    upto = k if k is not None and k < total and not getattr(args, "series", None) else None
    flags, fnotes = make_flags_for(rep)
    doc, rnotes = runtime_suite(rep, series, getattr(args, "suites", None))
    return Plan(series.name, rev.label, upto, getattr(args, "tree", None), profile, config,
                flags, targets_for(rep) if rep.kind == "build" else [], toolchain,
                notes + cnotes + tnotes + fnotes + rnotes, rep.kind, [], arch, doc)


def runtime_suite(rep: RobotReport, series, asked: list[str] | None) -> tuple:
    """(the runtime report's testcase as a suite file's content, substitutions);
    (None, []) for a build report. `--suite` replaces it, stated."""
    from selftests.suite import SUITES_DIR

    from .runtime import runtime_job
    if rep.kind != "runtime":
        return None, []
    if asked:
        return None, [f"running --suite {' '.join(asked)} as asked instead of the report's "
                      f"testcase ({rep.testcase or 'none named'}); the report's test machine "
                      "and kernel command line are not used"]
    own = series.name if (SUITES_DIR / f"{series.name}.yaml").is_file() else None
    job = runtime_job(rep, own)
    return job.doc, job.notes


def _patches(series, rev):
    from patches.source import load_patches
    return load_patches(series, rev)
