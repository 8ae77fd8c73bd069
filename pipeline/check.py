"""The check phase: a JobSpec becomes a resolved JobPlan before any stage runs.

Every input is loaded and checked here (series and revision, tree, profile and
its fragments, the job's fragments, toolchain, make flags, suites and what the
series manifest says its tests are), and every error is reported at once, each
with its file and line. A typo costs a second, never a build. After this phase
the spec is not changed again: the stages read the plan.
"""
from __future__ import annotations

import fnmatch
import importlib.util
import re
import shutil
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from common.errors import HarnessError, NotRun, UsageError
from kbuild.makeflags import MakeFlags, parse_make_flags
from kbuild.toolchain import Toolchain, ensure_compiler, toolchain

from .job import JobSpec

DEFAULT_SUITE = "smoke"
NAME_CHARS = re.compile(r"[^\x00-\x1f\x7f]+")   # a name: no control character


class CheckFailed(UsageError):
    """One or more inputs of a job are wrong; `errors` lists them all."""

    def __init__(self, label: str, errors: list[str]):
        lines = "\n".join(f"  {e}" for e in errors)
        super().__init__(f"job {label}: {len(errors)} input error(s):\n{lines}")
        self.errors = errors


@dataclass(frozen=True)
class JobPlan:
    """A job whose inputs are loaded and checked; the stages' only input."""
    spec: JobSpec                     # rev resolved (None only for the base tree)
    series: object | None = None      # patches.model.Series
    revision: object | None = None    # patches.model.Revision
    profile: object | None = None     # configs.profiles.Profile
    toolchain: Toolchain | None = None
    make: MakeFlags = MakeFlags()
    suites: tuple = ()                # selftests.suite.Suite, in run order
    not_run: str | None = None        # an expected reason it cannot run (no patches yet)
    notes: tuple = ()                 # what the check decided that the user should know

    @property
    def arch(self) -> str:
        return self.spec.arch

    @property
    def fragments(self) -> list[str]:
        """The revision's own fragments (unless left out), then the job's."""
        own = self.revision is not None and self.spec.series_config
        frags = list(self.revision.fragments) if own else []
        return frags + [f for f in self.spec.fragments if f not in frags]


class _Errors:
    def __init__(self):
        self.items: list[str] = []

    def run(self, fn: Callable, *args, default=None):
        try:
            return fn(*args)
        except NotRun:
            raise
        except HarnessError as e:
            self.items.append(str(e))
            return default


def check_job(spec: JobSpec) -> JobPlan:
    """Resolve and check `spec`. Raises CheckFailed with every error found."""
    errs = _Errors()
    if spec.mbox is not None:
        spec = _adhoc(spec)
    try:
        series, revision, rev = errs.run(_series, spec, default=(None, None, spec.rev))
    except NotRun as e:
        return JobPlan(spec, not_run=str(e))
    spec = replace(spec, rev=rev)
    spec, notes = _checkout_tree(spec)
    errs.run(_names, spec)
    errs.run(_tree, spec)
    errs.run(_worktree, spec)
    profile = errs.run(_profile, spec.profile)
    errs.run(_fragments, spec.fragments)
    tc = errs.run(_toolchain, spec.toolchain, spec.arch)
    make = errs.run(parse_make_flags, spec.make_flags, tc.llvm if tc else None, spec.arch,
                    default=MakeFlags())
    errs.run(_targets, spec)
    errs.run(_cache_size, spec)
    errs.run(_upto, spec, series, revision)
    suites = errs.run(_suites, spec, series, revision, default=[])
    if errs.items:
        raise CheckFailed(spec.label(), errs.items)
    return JobPlan(spec, series, revision, profile, tc, make, tuple(suites), notes=notes)


def check_jobs(specs: list[JobSpec], where: list[str] | None = None) -> list[JobPlan]:
    """Every job of a matrix; all errors of all jobs at once, each after the
    matrix entry (file:line) of its job when `where` gives it."""
    plans, errors = [], []
    for i, s in enumerate(specs):
        try:
            plans.append(check_job(s))
        except CheckFailed as e:
            at = where[i] if where else s.label()
            errors += [f"{at}: job {s.label()}: {x}" for x in e.errors]
    if errors:
        raise CheckFailed(f"matrix ({len(specs)} jobs)", errors)
    return plans


VM_MODULES = ("paramiko",)          # imported by vm/ when the boot stage starts


def check_vm_tools() -> None:
    """What the boot stage needs from this Python, checked before the first stage:
    run with a Python that lacks paramiko (the system's python3, not the project's
    venv), a job built its kernel for 27 minutes and then failed in boot with
    `No module named 'paramiko'`. vng is looked for the way the VM stage does."""
    missing = [m for m in VM_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UsageError(f"the boot stage needs {', '.join(missing)}, which this Python "
                         f"({sys.executable}) does not have",
                         hint="run the harness with the project's venv: `make setup`, "
                              "then `.venv/bin/python harness.py ...` (make test does this)")
    from vm.vng import find_vng
    find_vng()


# --- the checks -------------------------------------------------------------------

def _series(spec: JobSpec):
    if spec.base_only:
        if spec.upto is not None:
            raise UsageError("--upto needs a series")
        if spec.new_warnings:
            raise UsageError("--new-warnings compares a series with its base tree; the "
                             "base tree alone has nothing to compare")
        return None, None, None
    from patches.manifest import find_series
    from patches.source import revision_status
    series = find_series(spec.series)
    label = spec.rev or latest_revision(series)
    rev = series.revision(label)
    st = revision_status(series, rev)
    if st.state == "invalid":
        raise UsageError(f"{series.name}@{label}: {st.error}")
    if st.state != "present":
        raise NotRun(f"NOT RUN: no patches for {rev.base.tree} yet "
                     f"({series.name}@{label}: {st.text()})")
    return series, rev, label


def _adhoc(spec: JobSpec) -> JobSpec:
    """An ad-hoc posting (--mbox FILE or a dir of patches) written as a series
    (patches/adhoc.py); the spec names it (and keeps the posting for reproduce.sh)."""
    from common.proc import Runner
    from patches.adhoc import make_series
    path = Path(spec.mbox).resolve()
    try:
        name, label = make_series(path, "dir" if path.is_dir() else "mbox", spec.tree,
                                  Runner())
    except HarnessError as e:
        raise CheckFailed(spec.label(), [str(e)]) from None
    return replace(spec, series=name, rev=label, mbox=str(path))


def latest_revision(series) -> str:
    """The newest revision that has patches on disk."""
    from patches.source import revision_status
    for rev in reversed(series.revisions):
        if revision_status(series, rev).state == "present":
            return rev.label
    raise NotRun(f"NOT RUN: series {series.name} has no revision with patches yet")


def _looks_like_path(tree: str) -> bool:
    return tree.startswith(("/", ".", "~")) or "/" in tree and "://" not in tree


def _checkout_tree(spec: JobSpec) -> tuple[JobSpec, tuple]:
    """`--tree DIR` naming a git checkout: the checkout is used where it is, as with
    --worktree (the series applied on its HEAD in a git worktree of it; the base
    alone built as it is), never copied into the cache. Says so."""
    from patches.treedefs import find_treedef
    from patches.treeimport import tree_info
    tree = spec.tree
    if spec.worktree or find_treedef(tree) or tree_info(tree):
        return spec, ()
    path = Path(tree).expanduser()
    if not (_looks_like_path(tree) or path.is_dir()) or not (path / ".git").exists():
        return spec, ()
    from patches.apply import checkout_name
    path = path.resolve()
    name = checkout_name(path)
    what = ("built as it is, uncommitted changes included" if spec.base_only else
            "the series is applied on its HEAD in a git worktree of it, on a branch "
            f"kh/{spec.series}/...")
    note = (f"--tree {tree}: your git checkout {path} is used in place ({what}; "
            f"nothing is copied), as tree {name}")
    return replace(spec, worktree=str(path), tree=name), (note,)


def _tree(spec: JobSpec) -> None:
    """The tree is a definition's name or an imported tree's (a plain name, so paths
    made from it stay in their root). A checkout was turned into --worktree before;
    any other path or a URL is imported first, explicitly (a copy)."""
    if spec.worktree:
        return
    from patches.treedefs import all_treedefs, find_treedef
    from patches.treeimport import URL_RE, tree_info
    name = spec.tree
    if find_treedef(name) or tree_info(name):
        return
    if URL_RE.match(name) or Path(name).expanduser().exists():
        what = "a git URL" if URL_RE.match(name) else "not a git checkout"
        raise UsageError(f"--tree {name}: {what}; a tree from it is imported first, "
                         "as a copy in the harness cache",
                         hint=f"harness.py tree import {name} --name NAME "
                              f"{'--ref REF ' if URL_RE.match(name) else ''}"
                              "(see harness.py tree list), then --tree NAME; a git "
                              "checkout is used in place")
    known = ", ".join(t.name for t in all_treedefs())
    raise UsageError(f"unknown tree '{name}'",
                     hint=f"known trees: {known}; a git checkout's path; or "
                          "`harness.py tree import` a source, then its name")


def _cache_size(spec: JobSpec) -> None:
    from kbuild.cache import max_size
    max_size(spec.cache_max_size)


def _worktree(spec: JobSpec) -> None:
    if spec.worktree and not (Path(spec.worktree) / ".git").exists():
        raise UsageError(f"--worktree {spec.worktree}: not a git checkout")


def _profile(name: str):
    from configs.profiles import check_fragment, load_profile
    prof = load_profile(name)
    for f in prof.fragments:
        check_fragment(f, where=prof.path)
    return prof


def _fragments(names: list[str]) -> None:
    from configs.profiles import check_fragment
    errors = []
    for f in names:
        try:
            check_fragment(f)
        except HarnessError as e:
            errors.append(str(e))
    if errors:
        raise UsageError("; ".join(errors))


def _toolchain(name: str, arch: str) -> Toolchain:
    """The toolchain for the arch (an arch nothing here builds is refused with the
    reason), its compiler installed: when root with apt a missing cross compiler is
    installed here (the command is printed), else the error names the package."""
    tc = toolchain(name, arch)
    ensure_compiler(tc, which=shutil.which)
    return tc


def _names(spec: JobSpec) -> None:
    """The series, revision and job names: they name results dirs and go into
    reproduce.sh, so no path escape and no control character (a line break)."""
    for what, val in (("series", spec.series), ("revision", spec.rev), ("--name", spec.name)):
        if val is not None and (val in (".", "..") or not NAME_CHARS.fullmatch(val)
                                or (what != "--name" and "/" in val)):
            raise UsageError(f"{what} {val!r}: not a name (no '/', '..' or control "
                             "characters such as a line break)")


# Make targets a job may build: objects and dirs of the tree, and these images.
# Never an install target (install, modules_install, headers_install write outside).
IMAGE_TARGETS = {"vmlinux", "modules", "bzImage", "Image", "Image.gz", "zImage", "all",
                 "dtbs", "vmlinux.o", "vmlinux.a"}
OBJECT_SUFFIXES = (".o", ".i", ".s", ".lst", ".ko", ".mod", ".ll", ".dtb", ".a", ".S")
TARGET_CHARS = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.,+/-]*")


def target_ok(t: str) -> bool:
    """A make target inside the tree: an object (fs/namei.o), a dir (fs/notify/ or
    fs/notify), or an image (vmlinux, bzImage, modules); no absolute path, `..`,
    `VAR=value` or install target."""
    if t in IMAGE_TARGETS:
        return True
    if not TARGET_CHARS.fullmatch(t) or ".." in Path(t).parts or "install" in t:
        return False
    return t.endswith(OBJECT_SUFFIXES) or t.endswith("/") or "/" in t


def _targets(spec: JobSpec) -> None:
    for t in spec.targets:
        if not target_ok(t):
            raise UsageError(f"--target {t!r}: a make target inside the tree, such as "
                             "fs/namei.o, fs/notify/ or vmlinux (no install target, absolute "
                             "path or '..'; flags go in --make-flag)")


def _upto(spec: JobSpec, series, revision) -> None:
    if spec.upto is None or series is None:
        return
    from patches.source import load_patches
    total = len(load_patches(series, revision))
    if not 1 <= spec.upto <= total:
        raise UsageError(f"--upto {spec.upto}: {series.name}@{revision.label} has "
                         f"{total} patches")


def _suites(spec: JobSpec, series, revision) -> list:
    from selftests.suite import SUITES_DIR, load_suite
    names = list(spec.suites)
    if not names:
        names = _default_suites(series, revision, SUITES_DIR)
    errors, suites = [], []
    for n in names:
        try:
            suites.append(load_suite(n))
        except HarnessError as e:
            errors.append(str(e))
    if not errors and series is not None and not spec.suites:
        errors += uncovered_tests(series, revision, suites)
    if errors:
        raise UsageError("\n  ".join(errors))
    return suites


def _default_suites(series, revision, suites_dir) -> list[str]:
    """A job that names no suite runs its revision's `suites:` from the manifest
    (a revision whose tests moved to another suite, as fanotify-bpf's v3 filter did),
    else the series' own suite when there is one, and the default suite."""
    if revision is not None and revision.suites:
        own = list(revision.suites)
    elif series is not None and (suites_dir / f"{series.name}.yaml").is_file():
        own = [series.name]
    else:
        own = []
    return own + ([DEFAULT_SUITE] if DEFAULT_SUITE not in own else [])


def uncovered_tests(series, revision, suites) -> list[str]:
    """The series manifest decides what a series runs: each test it names must be
    run by one of the job's default suites."""
    where = f"{series.manifest}:{revision.line}"
    out = []
    for test in revision.tests.test_progs:
        if not any(s.is_test_progs and _allows(s, test) for s in suites):
            out.append(f"{where}: test_progs test '{test}' is run by no suite of the job "
                       f"(add selftests/suites/{series.name}.yaml allowing it)")
    for test in revision.tests.kselftest:
        if not any(s.runner in ("kselftest", "command") and _allows(s, test) for s in suites):
            out.append(f"{where}: kselftest '{test}' is run by no suite of the job "
                       f"(add selftests/suites/{series.name}.yaml running it)")
    return out


def _allows(suite, test: str) -> bool:
    if not suite.allow:
        return True
    coll = test.split(":", 1)[0]
    return any(fnmatch.fnmatchcase(test, a) or a == coll for a in suite.allow)
