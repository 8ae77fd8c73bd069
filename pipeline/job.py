"""What a job is: its spec, and the one table of job options.

Every job option is declared once, in OPTIONS. The `run` flags, the matrix keys,
the argv of a `bisect-step`, the `reproduce.sh` command line and the repro job all
derive from it (add_job_args, spec_from_args, spec_to_argv, spec_from_entry,
spec_to_entry), so a new option cannot be forgotten by one of them.
"""
from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from common.errors import InputError, UsageError
from common.yamlfile import Located, line_of
from patches.manifest import parse_spec as split_series

DEFAULT_TREE = "debian-6.12"
DEFAULT_PROFILE = "bpf"
DEFAULT_TOOLCHAIN = "gcc"
DEFAULT_ARCH = "x86_64"


@dataclass
class JobSpec:
    tree: str = DEFAULT_TREE
    series: str | None = None        # None: the base tree alone
    rev: str | None = None           # None: the newest revision that has patches
    profile: str = DEFAULT_PROFILE
    fragments: list[str] = field(default_factory=list)
    toolchain: str = DEFAULT_TOOLCHAIN
    arch: str = DEFAULT_ARCH         # the kernel's ARCH=
    suites: list[str] = field(default_factory=list)  # empty: the series' suites + smoke
    accel: str | None = None         # kvm, tcg, or None for the probe's choice
    upto: int | None = None          # apply only the first K patches
    skip: int | None = None          # leave out patch K (a bisect's confirmation)
    rebuild: bool = False
    allow_drop: list[str] = field(default_factory=list)
    make_flags: list[str] = field(default_factory=list)   # VAR=value, passed to make
    targets: list[str] = field(default_factory=list)      # extra make targets
    name: str | None = None          # a label from the matrix file
    worktree: str | None = None      # build this checkout (bisect-commits steps)
    series_config: bool = True       # add the revision's own config fragments
    new_warnings: bool = False       # compare the build's warnings with the base tree's
    mbox: str | None = None          # an ad-hoc posting: an mbox, or a dir of format-patch files
    cache_max_size: str | None = None  # build cache limit (None: $HARNESS_CACHE_MAX_SIZE or 20G)

    @property
    def base_only(self) -> bool:
        return self.series is None and self.mbox is None

    def series_text(self) -> str | None:
        if self.series is None:
            return None
        return f"{self.series}@{self.rev}" if self.rev else self.series

    def label(self) -> str:
        if self.name:
            return self.name
        what = "base" if self.base_only else f"{self._series_name()}@{self.rev or 'latest'}"
        if self.upto is not None:
            what += f"~{self.upto}"
        if self.skip is not None:
            what += f"-{self.skip}"
        return f"{what}:{self.profile}:{self.toolchain}{self._arch_part()}:{self.suite_label()}"

    def _series_name(self) -> str:
        """The series' name; before the check phase names an ad-hoc posting, its path."""
        return self.series or f"adhoc:{Path(str(self.mbox)).name}"

    def _arch_part(self) -> str:
        return "" if self.arch == DEFAULT_ARCH else f"-{self.arch}"

    def suite_label(self) -> str:
        """The suites as they name a job: a suite given as a file path (repro's
        generated suites) by its file's stem, so no path reaches a results dir name."""
        if not self.suites:
            return "default"
        return "+".join(Path(s).stem if "/" in s else s for s in self.suites)

    def job_parts(self) -> list[str]:
        head = ["base", self.tree] if self.base_only else [self._series_name(),
                                                           self.rev or "latest"]
        if self.upto is not None:
            head[-1] += f"-upto{self.upto}"
        if self.skip is not None:
            head[-1] += f"-without{self.skip}"
        return head + [f"{self.profile}-{self.toolchain}{self._arch_part()}-"
                       f"{self.suite_label()}"]

    def to_dict(self) -> dict:
        return asdict(self)


# Kinds of option value.
STR, INT, FLAG, LIST, SERIES, NOT_FLAG = "str", "int", "flag", "list", "series", "not-flag"


@dataclass(frozen=True)
class Option:
    """One job option: the JobSpec field, its CLI flag, its matrix key, and whether a
    bisect step (and reproduce.sh) passes it on."""
    field: str
    flag: str          # "--profile"; for SERIES the positional's metavar
    key: str           # the matrix key
    kind: str          # STR, INT, FLAG (store_true), NOT_FLAG (--no-x sets False), LIST, SERIES
    help: str
    step: bool = True  # forwarded to every bisect step
    choices: tuple[str, ...] | None = None
    metavar: str | None = None


OPTIONS: tuple[Option, ...] = (
    Option("series", "SERIES[@REV]", "series", SERIES,
           "the series and revision; a bare name means its newest revision with patches "
           "(matrix: 'series: NAME@REV', or 'base: true' for the tree alone)"),
    Option("tree", "--tree", "tree", STR, f"tree name (default {DEFAULT_TREE})"),
    Option("profile", "--profile", "profile", STR,
           f"config profile (default {DEFAULT_PROFILE})"),
    Option("fragments", "--fragment", "fragments", LIST, "extra config fragment (repeatable)",
           metavar="FRAG"),
    Option("toolchain", "--toolchain", "toolchain", STR,
           f"gcc, llvm (LLVM=1) or llvm-NN (LLVM=-NN) (default {DEFAULT_TOOLCHAIN})"),
    Option("arch", "--arch", "arch", STR,
           f"the kernel ARCH to build (default {DEFAULT_ARCH}): gcc uses Debian's cross "
           "gcc-12-<triplet> (arm64, arm, riscv, powerpc, s390, mips, m68k, sparc, sh, "
           "alpha, parisc, arc), clang LLVM=1 (arm, arm64, riscv, powerpc, s390, mips, "
           "loongarch, hexagon)"),
    Option("suites", "--suite", "suites", LIST,
           "suite name or file (repeatable; default: the series' suites + smoke)",
           metavar="SUITE"),
    Option("accel", "--accel", "accel", STR, "kvm or tcg: override the KVM probe",
           choices=("kvm", "tcg")),
    Option("upto", "--upto", "upto", INT, "apply only the first K patches", metavar="K"),
    Option("skip", "--skip-patch", "skip_patch", INT,
           "leave out patch K (how a bisect confirms its culprit)", metavar="K"),
    Option("rebuild", "--rebuild", "rebuild", FLAG, "ignore cached builds"),
    Option("allow_drop", "--allow-drop", "allow_drop", LIST,
           "accept that olddefconfig drops SYM (repeatable)", metavar="SYM"),
    Option("make_flags", "--make-flag", "make_flags", LIST,
           "VAR=value passed to make, e.g. W=1, C=1, KCFLAGS=-Werror (repeatable)",
           metavar="VAR=VALUE"),
    Option("targets", "--target", "targets", LIST,
           "make this target only, e.g. fs/namei.o (repeatable)", metavar="TARGET"),
    Option("name", "--name", "name", STR, "a label for the job in tables", step=False),
    Option("worktree", "--worktree", "worktree", STR,
           "build this git checkout as it is (the series, if given, is applied on top)",
           metavar="DIR"),
    Option("series_config", "--no-series-config", "series_config", NOT_FLAG,
           "leave out the revision's own config fragments (a robot report's config)"),
    Option("new_warnings", "--new-warnings", "new_warnings", FLAG,
           "also build the base tree and list the warnings the series adds"),
    Option("mbox", "--mbox", "mbox", STR,
           "an ad-hoc series with no manifest: an mbox (b4 am) or a dir of git format-patch "
           "files (`run ./dir` says the same); name and revision from its subjects, the "
           "base from base-commit: when the tree has it", metavar="FILE"),
    Option("cache_max_size", "--cache-max-size", "cache_max_size", STR,
           "keep the build cache within SIZE (20G, 500M): after a build the least recently "
           "used finished builds not in use go (default $HARNESS_CACHE_MAX_SIZE, else 20G)",
           metavar="SIZE"),
)

OPTION_FIELDS = {o.field for o in OPTIONS} | {"rev"}     # rev travels inside SERIES
MATRIX_KEYS = {o.key for o in OPTIONS} | {"base"}


# --- argparse ---------------------------------------------------------------------

def add_job_args(p: argparse.ArgumentParser, series_optional: bool = True) -> None:
    """Every job option as a flag of `p`, with the table's defaults."""
    d = JobSpec()
    for o in OPTIONS:
        if o.kind == SERIES:
            p.add_argument("series", nargs="?" if series_optional else None, metavar=o.flag,
                           help=o.help)
            p.add_argument("--base-only", action="store_true", help="run the tree alone")
        elif o.kind == FLAG:
            p.add_argument(o.flag, dest=o.field, action="store_true", help=o.help)
        elif o.kind == NOT_FLAG:
            p.add_argument(o.flag, dest=o.field, action="store_false", help=o.help)
        elif o.kind == LIST:
            p.add_argument(o.flag, dest=o.field, action="append", default=[], help=o.help,
                           metavar=o.metavar)
        else:
            p.add_argument(o.flag, dest=o.field, type=int if o.kind == INT else str,
                           default=getattr(d, o.field), choices=o.choices, help=o.help,
                           metavar=o.metavar)
    p.add_argument("--results", type=Path, default=None, help="results root (default results/)")


def spec_from_args(args, need_series: bool = True) -> JobSpec:
    from patches.adhoc import is_adhoc
    posting = args.series if is_adhoc(args.series) else None
    if posting and args.mbox:
        raise UsageError(f"give a posting once: {args.series} or --mbox {args.mbox}")
    if need_series and args.base_only == bool(args.series or args.mbox):
        raise UsageError("give SERIES[@REV], a dir of patches, --mbox FILE or --base-only "
                         "(exactly one)")
    values = {o.field: getattr(args, o.field) for o in OPTIONS if o.kind != SERIES}
    values = {k: list(v) if isinstance(v, list) else v for k, v in values.items()}
    spec = JobSpec(**values)
    if posting:
        spec.mbox = posting
    elif args.series and not args.base_only:
        spec.series, spec.rev = split_series(args.series)
    return spec


def spec_to_argv(spec: JobSpec, step: bool = False) -> list[str]:
    """The flags that give `spec` back through spec_from_args; with step=True only
    the options a bisect step forwards. Defaults are left out."""
    d, argv = JobSpec(), []
    for o in OPTIONS:
        if step and not o.step:
            continue
        value = getattr(spec, o.field)
        if o.kind == SERIES:
            argv += [spec.series_text()] if spec.series else (
                [] if spec.mbox else ["--base-only"])
        elif o.kind == LIST:
            for v in value:
                argv += [o.flag, str(v)]
        elif o.kind in (FLAG, NOT_FLAG):
            argv += [o.flag] if value != getattr(d, o.field) else []
        elif value is not None and value != getattr(d, o.field):
            argv += [o.flag, str(value)]
    return argv


# --- matrix entries -----------------------------------------------------------------

TYPES = {STR: str, INT: int, FLAG: bool, NOT_FLAG: bool, LIST: list}


def spec_from_entry(raw, defaults: dict, path: str) -> JobSpec:
    """One matrix job (merged over the file's defaults) -> JobSpec; errors name the
    file and line."""
    if not isinstance(raw, Located):
        raise InputError("each job must be a mapping", path=path, line=line_of(raw))
    merged = {**defaults, **raw}

    def line(key):
        return line_of(raw if key in raw else defaults, key)
    unknown = sorted(set(merged) - MATRIX_KEYS)
    if unknown:
        raise InputError(f"unknown job key '{unknown[0]}' (known: {', '.join(sorted(MATRIX_KEYS))})",
                         path=path, line=line(unknown[0]))
    base = merged.pop("base", False)
    series = merged.pop("series", None)
    if not isinstance(base, bool) or bool(base) == (series is not None
                                                    or merged.get("mbox") is not None):
        raise InputError("a job needs exactly one of 'series: NAME@REV' (or 'mbox: FILE') "
                         "or 'base: true'",
                         path=path, line=line_of(raw))
    values = {}
    for o in OPTIONS:
        if o.key in merged and o.kind != SERIES:
            values[o.field] = _typed(o, merged[o.key], path, line(o.key))
    spec = JobSpec(**values)
    if series is not None and not isinstance(series, str):
        raise InputError(f"'series' must be a string NAME@REV, not {_yaml_kind(series)}",
                         path=path, line=line("series"))
    if series is not None:
        try:
            spec.series, spec.rev = split_series(series)
        except UsageError as e:
            raise InputError(str(e), path=path, line=line("series")) from None
    return spec


def _typed(o: Option, value, path: str, line: int | None):
    want = TYPES[o.kind]
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if value is None and getattr(JobSpec(), o.field) is None:     # an optional option
        ok = True
    if not ok:
        quote = f" (quote it: '{value}')" if o.kind == STR and isinstance(
            value, (int, float, bool)) else ""
        raise InputError(f"'{o.key}' must be {_kind_text(o.kind)}, not "
                         f"{_yaml_kind(value)}{quote}", path=path, line=line)
    if o.kind == LIST:
        if not all(isinstance(v, (str, int, float)) for v in value):
            raise InputError(f"'{o.key}' must be a list of strings", path=path, line=line)
        return [str(v) for v in value]
    if o.choices and value is not None and value not in o.choices:
        raise InputError(f"'{o.key}' must be one of {', '.join(o.choices)}, not {value!r}",
                         path=path, line=line)
    return value


def _yaml_kind(value) -> str:
    for t, text in ((bool, "true/false"), (int, "a number"), (float, "a number"),
                    (str, "a string"), (list, "a list"), (dict, "a mapping")):
        if isinstance(value, t):
            return text
    return "null" if value is None else type(value).__name__


def _kind_text(kind: str) -> str:
    return {STR: "a string", INT: "an integer", FLAG: "true or false",
            NOT_FLAG: "true or false", LIST: "a list"}[kind]


def spec_to_entry(spec: JobSpec) -> dict:
    """A matrix job entry that spec_from_entry turns back into `spec`."""
    d, out = JobSpec(), {}
    for o in OPTIONS:
        value = getattr(spec, o.field)
        if o.kind == SERIES:
            out.update({"series": spec.series_text()} if spec.series else
                       ({} if spec.mbox else {"base": True}))
        elif value != getattr(d, o.field):
            out[o.key] = list(value) if isinstance(value, list) else value
    return out


def check_table() -> None:
    """The table covers JobSpec exactly (a test calls this)."""
    names = {f.name for f in fields(JobSpec)}
    if names != OPTION_FIELDS:
        raise AssertionError(f"OPTIONS and JobSpec differ: {sorted(names ^ OPTION_FIELDS)}")


def with_series(spec: JobSpec, series: str | None, rev: str | None = None,
                upto: int | None = None) -> JobSpec:
    return replace(spec, series=series, rev=rev, upto=upto)

