"""Selftests builds: tools/testing/selftests/bpf (test_progs and friends) with
clang-19 against a built kernel, and the quick kselftest install path."""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator

from common.errors import ApplyError, BuildError, InputError, ParseError
from common.fsutil import read_json, write_json
from patches.worktree import repository

from . import btfdelta, cache, srcsync
from .build import NICE, build_env
from .key import KeyParts, tree_state
from .logparse import FileError, first_errors
from .objdir import Family, checkout
from .progress_watch import BPF_LINE, LogWatcher
from .toolchain import versions

BPF_DIR = "tools/testing/selftests/bpf"
LLVM_SUFFIX = "-19"


class SelftestsBuildError(BuildError):
    """The selftests failed to build; `errors` has the first error of each file."""

    def __init__(self, message: str, errors: list[FileError], log: Path | None = None):
        super().__init__(message, hint=f"log: {log}" if log else None)
        self.errors = errors
        self.log = log


@dataclass
class SelftestsRequest:
    tree: Path
    kernel_key: str                     # BuildResult.key of the kernel built for `tree`
    family: str                         # BuildResult.family (its build dir is the KBUILD_OUTPUT)
    targets: list[str] = field(default_factory=lambda: ["test_progs"])
    fixups: list[Path] = field(default_factory=list)    # patch files applied to the tree first
    llvm_suffix: str = LLVM_SUFFIX
    jobs: int = 2
    nice: bool = True
    results_dir: Path | None = None
    timeout: float = 3 * 3600
    use_cache: bool = True


@dataclass
class SelftestsResult:
    artifacts_dir: Path                 # test_progs, *.bpf.o, bpf_testmod.ko, ...
    key: str
    cached: bool
    duration: float
    log: Path
    applied_fixups: list[str]
    # what became of the earlier output's vmlinux.h for this kernel (keep_bpf_objects);
    # None when there was none to compare with, or the result came from the cache
    vmlinux_h: str | None = None


def llvm_vars(suffix: str) -> list[str]:
    """The selftests Makefile's tool variables, pinned to one LLVM version."""
    return [f"CLANG=clang{suffix}", f"LLC=llc{suffix}", f"LLVM_STRIP=llvm-strip{suffix}",
            f"LLVM_OBJCOPY=llvm-objcopy{suffix}", f"LLVM_READELF=llvm-readelf{suffix}"]


def apply_fixups(runner, tree: Path, patches: list[Path]) -> list[str]:
    """git-apply each patch unless it is already in; a patch that neither applies
    nor is applied is an ApplyError naming it. Returns the ones applied now."""
    applied = []
    for p in patches:
        p = Path(p)
        if not p.is_file():
            raise InputError("fix-up patch not found", path=str(p))
        git = ["git", "-C", str(tree), "apply"]
        if runner.run(git + ["--check", str(p)], timeout=120).returncode == 0:
            runner.run(git + [str(p)], timeout=120, check=True, error=ApplyError)
            applied.append(p.name)
        elif runner.run(git + ["--reverse", "--check", str(p)], timeout=120).returncode != 0:
            raise ApplyError(f"fix-up {p} does not apply to {tree}",
                             hint="the tree moved on: refresh the fix-up")
    return applied


def selftests_key(req: SelftestsRequest, runner, fix_text: str) -> str:
    head, dirty = tree_state(runner, req.tree)
    tools = ["make", "gcc", f"clang{req.llvm_suffix}", f"llc{req.llvm_suffix}", "pahole"]
    return KeyParts("selftests", head, dirty, "", versions(runner, tools), "x86_64",
                    llvm_vars(req.llvm_suffix), list(req.targets),
                    {"kernel_key": req.kernel_key, "fixups": fix_text}).digest()


def build_selftests(req: SelftestsRequest, runner, progress=None) -> SelftestsResult:
    """Apply fix-ups, then build the bpf selftests against the family's kernel
    build dir. SelftestsBuildError (exit 5) names each failing file's first error."""
    t0 = time.monotonic()
    req.tree = Path(req.tree).resolve()
    if not (req.tree / BPF_DIR / "Makefile").is_file():
        raise InputError("no BPF selftests in this tree", path=str(req.tree / BPF_DIR))
    applied = apply_fixups(runner, req.tree, req.fixups)
    fix_text = "".join(Path(p).read_text(errors="replace") for p in req.fixups)
    key = selftests_key(req, runner, fix_text)
    hit = cache.lookup(key) if req.use_cache else None
    if hit is not None:
        return SelftestsResult(hit, key, True, time.monotonic() - t0, hit / "build.log",
                               applied)
    fam = Family(req.family)
    out = fam.root / "selftests-bpf"
    log = fam.root / "selftests-build.log"
    if log.exists():
        log.unlink()
    started = progress.start("selftests-build", ", ".join(req.targets)) if progress else None
    with checkout(req.tree, fam) as obj:
        if not (obj / "vmlinux").is_file():
            raise BuildError(f"no vmlinux in the kernel build dir of {fam.name}",
                             hint="build the kernel (with DEBUG_INFO_BTF) first")
        incremental = _sync_output(runner, req.tree, fam, out, progress)
        keep, header = [], None
        if incremental:
            keep, header = keep_bpf_objects(runner, req.tree, obj / "vmlinux", out, progress)
        out.mkdir(parents=True, exist_ok=True)      # the tools' Makefile.include wants it
        argv = (NICE if req.nice else []) + [
            "make", "-C", str(req.tree / BPF_DIR), f"-j{req.jobs}",
            f"OUTPUT={out}/", f"KBUILD_OUTPUT={obj}", f"VMLINUX_BTF={obj / 'vmlinux'}",
        ] + llvm_vars(req.llvm_suffix)

        def make(extra: list[str]):
            return runner.run(argv + extra + list(req.targets), env=build_env(req.tree, False),
                              log=log, timeout=req.timeout)
        stats = _bpf_stats(fam)
        t_make = time.monotonic()
        with LogWatcher(log, progress, "selftests-build", stats.get("bpf_objects"),
                        stats.get("per_object"), pattern=BPF_LINE,
                        unit="BPF objects") as watch:
            res = make(keep)
            if res.returncode != 0 and incremental and _stale_output(log):
                _restart_output(fam, out, log)
                res = make([])          # an empty output: vmlinux.h is made again
                header = None
        if res.returncode == 0 and watch.count and not incremental:
            write_json(fam.root / BPF_STATS, {"bpf_objects": watch.count, "per_object": round(
                (time.monotonic() - t_make) / watch.count, 3)})
    text = log.read_text(errors="replace") if log.exists() else ""
    if res.returncode != 0:
        if progress:
            progress.end("selftests-build", started, "FAILED")
        errs = _relative_errors(first_errors(text.splitlines()))
        if errs:
            lines = "\n".join("  " + e.text() for e in errs[:10])
            msg = f"selftests build failed in {len(errs)} file(s):\n{lines}"
        else:
            tail = [ln for ln in text.splitlines() if ln.strip()][-8:]
            msg = "selftests build failed (no compiler error; the log ends):\n" + \
                "\n".join("  " + ln for ln in tail)
        raise SelftestsBuildError(msg, errs, log)
    srcsync.built(runner, req.tree, fam.selftests_sources)
    art = cache.store(key, {"build.log": log}, {"bpf": _runtime_copy(out)},
                      {"family": fam.name, "targets": req.targets})
    if progress:
        progress.end("selftests-build", started, "ok")
    return SelftestsResult(art, key, False, time.monotonic() - t0, art / "build.log", applied,
                           header)


BPF_STATS = "selftests-stats.json"    # the last full selftests build's BPF object count


def _bpf_stats(fam: Family) -> dict:
    """The BPF object count and seconds per object of the family's last full build:
    the total and the ETA of the next build's progress line."""
    try:
        return read_json(fam.root / BPF_STATS) if (fam.root / BPF_STATS).is_file() else {}
    except ValueError:
        return {}


def _sync_output(runner, tree: Path, fam: Family, out: Path, progress=None) -> bool:
    """Make the earlier output fit `tree`, then let srcsync give the files that
    differ from what it was built from a new mtime, so make rebuilds only what
    changed. True when the build goes on from an earlier output.

    An output built in another worktree names that worktree by absolute path in
    make's records (repath_output). When both worktrees belong to one repository,
    srcsync's record names commits this one knows, and the records are rewritten
    to this worktree. Otherwise (another repository, or the old worktree is gone
    and cannot say) the output starts afresh.

    A new kernel needs nothing more: vmlinux.h's rule depends on $(VMLINUX_BTF),
    the family's vmlinux, by mtime only (its path moves with the worktree, which
    make does not see). A kernel build that relinks vmlinux makes it newer than
    vmlinux.h, so the BTF is dumped again; the Makefile replaces vmlinux.h only
    when the dump differs (cmp), and then the BPF objects, skeletons and test
    objects after it are rebuilt (unless keep_bpf_objects finds they can stay).
    bpf_testmod.ko and the other test modules depend on $(VMLINUX_BTF) the same
    way. The rewrite keeps every record's mtime so that this order holds."""
    old = srcsync.record_tree(fam.selftests_sources)
    if old not in (None, str(tree)):
        if _same_repository(Path(old), tree):
            n = repath_output(out, old, tree)
            if progress is not None and n:
                progress.info(f"[selftests-build] output built in {old}: "
                              f"{n} make records rewritten to this worktree")
        else:
            shutil.rmtree(out, ignore_errors=True)
            srcsync.forget(fam.selftests_sources)
    incremental = out.is_dir() and any(out.iterdir())
    srcsync.sync(runner, tree, fam.selftests_sources, (fam.sources,))
    if incremental:
        n = anchor_generated_deps(out)
        if progress is not None and n:
            progress.info(f"[selftests-build] {n} dependency files: skeleton headers "
                          f"named by the output dir")
        lists = forget_test_lists(tree)
        if progress is not None and lists:
            progress.info(f"[selftests-build] {', '.join(lists)}: made again from this "
                          f"tree's tests")
        gone = remake_stale_bpf_objects(tree, out)
        if progress is not None and gone:
            progress.info(f"[selftests-build] {len(gone)} BPF objects include a header "
                          f"changed since they were built: compiling them again")
    return incremental


VMLINUX_H = "tools/include/vmlinux.h"      # in the output: $(INCLUDE_DIR)/vmlinux.h
BPFTOOL = "tools/sbin/bpftool"              # in the output: the Makefile's own bpftool
SHOWN_REASONS = 3


def keep_bpf_objects(runner, tree: Path, vmlinux: Path, out: Path,
                     progress=None) -> tuple[list[str], str | None]:
    """Keep the earlier output's BPF objects when the new kernel's BTF leaves them
    good. Returns make's extra arguments and what was decided (None: nothing to
    compare, make decides as before).

    A kernel whose BTF differs makes the Makefile write a new vmlinux.h, which
    every BPF object depends on: all of them (824 on 6.12), their skeletons and
    the test objects were compiled again, 2m21s-2m45s on 2 cores, for each
    series kernel. But the objects are CO-RE: libbpf relocates their field
    accesses to the running kernel, so one compiled against the earlier
    vmlinux.h loads as long as what it names is still there and means the same
    (btfdelta.compare, and btfdelta.reusable over the objects make will keep and
    the tree's BPF sources). Then the new kernel's dump, made here with the
    output's own bpftool, is written to vmlinux.h, so a prog whose source changed
    (srcsync gave it a new mtime, make compiles it) sees the new types, and make
    gets `-o vmlinux.h`: it does not remake it and rebuilds nothing on its
    account. bpf_testmod.ko and the other test modules depend on $(VMLINUX_BTF),
    not on vmlinux.h, and are still built against the new kernel.

    vmlinux.h keeps its old mtime. The objects kept are newer than it, so a later
    build of the same kernel (without `-o`: the dump is then identical) runs the
    rule, finds the dump equal (cmp) and leaves it, and nothing is rebuilt; a new
    mtime would rebuild every object then. remake_stale_bpf_objects does not see
    vmlinux.h at all (it follows includes through the tree, and vmlinux.h is in
    the output). make names the file as `$(OUTPUT)/tools/include/vmlinux.h`, and
    OUTPUT ends in `/`: `-o` must spell it with the double slash, or make sees
    another file and remakes vmlinux.h (tried with GNU make 4.3)."""
    header, bpftool = out / VMLINUX_H, out / BPFTOOL
    if not header.is_file() or not bpftool.is_file():
        return [], None
    res = runner.run([str(bpftool), "btf", "dump", "file", str(vmlinux), "format", "c"],
                     timeout=600)
    if res.returncode != 0 or not res.stdout:
        return [], _told(progress, "bpftool could not dump the new kernel's BTF; make decides")
    old = header.read_text(errors="replace")
    if old == res.stdout:
        return [], "unchanged"
    try:
        delta = btfdelta.compare(old, res.stdout)
    except ParseError as e:
        return [], _told(progress, f"{e.message}; all BPF objects rebuilt")
    verdict = btfdelta.reusable(delta, bpf_sources(tree), kept_bpf_objects(tree, out))
    if not verdict.reusable:
        shown = ", ".join(c.text() for c in verdict.reasons[:SHOWN_REASONS])
        more = len(verdict.reasons) - SHOWN_REASONS
        return [], _told(progress, f"{shown}{f' (+{more} more)' if more > 0 else ''} "
                                   f"matter to the BPF objects; all BPF objects rebuilt")
    _replace_keeping_mtime(header, res.stdout)
    unused = len(delta.breaking)
    why = delta.added() + (f", {unused} change{'s' if unused > 1 else ''} no BPF object "
                           f"sees" if unused else "")
    return ["-o", f"{out}//{VMLINUX_H}"], _told(progress, f"{why}; BPF objects kept (CO-RE)")


def _told(progress, what: str) -> str:
    if progress is not None:
        progress.info(f"[selftests-build] vmlinux.h: {what}")
    return what


def bpf_sources(tree: Path) -> list[Path]:
    """The files a BPF object's names can come from: progs/*.[ch], the headers
    beside them (bpf_experimental.h, bpf_kfuncs.h, ...), the test modules' headers
    the progs include, and libbpf's headers (bpf_tracing.h names pt_regs members)."""
    bpf = tree / BPF_DIR
    pats = [(bpf / "progs", "*.[ch]"), (bpf, "*.h"), (bpf, "bpf_test*/*.h"),
            (tree / "tools/lib/bpf", "*.h")]
    return sorted(p for d, pat in pats for p in d.glob(pat) if p.is_file())


def bpf_objects(tree: Path, out: Path) -> Iterator[tuple[Path, Path]]:
    """Each (source, object) pair of the output: the tree's progs/X.c and its
    X.bpf.o in the output and in each flavour dir (no_alu32/, cpuv4/), the objects
    that exist only."""
    dirs = [out] + sorted(d for d in out.iterdir() if d.is_dir()) if out.is_dir() else []
    for src in sorted((tree / BPF_DIR / "progs").glob("*.c")):
        for d in dirs:
            obj = d / (src.stem + ".bpf.o")
            if obj.is_file():
                yield src, obj


def kept_bpf_objects(tree: Path, out: Path) -> list[Path]:
    """The BPF objects make will keep: those newer than their source. An object
    whose source changed is compiled again against the new vmlinux.h, and one of
    a prog the tree no longer has is not linked, so neither needs to survive the
    new kernel's BTF."""
    return [obj for src, obj in bpf_objects(tree, out)
            if obj.stat().st_mtime >= src.stat().st_mtime]


def _replace_keeping_mtime(path: Path, text: str) -> None:
    st = path.stat()
    tmp = path.with_name(f".{path.name}.kharness")
    tmp.write_text(text)
    os.utime(tmp, ns=(st.st_atime_ns, st.st_mtime_ns))
    os.replace(tmp, path)


# the test lists the Makefile generates into the source tree (one DEFINE_TEST per
# test function of the dir's *.c), which test_progs.c and test_maps.c include
TEST_LISTS = ("prog_tests/tests.h", "map_tests/tests.h")


def forget_test_lists(tree: Path) -> list[str]:
    """Remove the tree's generated test lists before an incremental build, so that
    make writes them again and compiles test_progs.o after them.

    A list lives in the worktree, not in the output, and make remakes it only when
    a test source is newer. An output carried over from another worktree has a
    test_progs.o compiled from that worktree's list; this tree's list is older
    than it, so make kept it, and test_progs named a test whose object was not
    linked: going back from path-iterator@v5.1-6.12 to the base tree, test_progs
    stopped at once with "Test 186:path_iter must have either test_path_iter() or
    serial_test_path_iter() defined" and every smoke test was missing. Writing
    the list again costs one sed over the tests and compiling test_progs.o (and
    test_maps.o) again. Returns the lists removed."""
    bpf = tree / BPF_DIR
    gone = []
    for rel in TEST_LISTS:
        try:
            (bpf / rel).unlink()
        except FileNotFoundError:
            continue
        gone.append(rel)
    return gone


# a skeleton header as gcc wrote it into a test object's .d: found through `-I.`
# in the output dir, so named without a directory
_BARE_SKEL = re.compile(rb"(?<=\s)([\w.+-]+\.(?:l?skel|subskel)\.h)(?=\s)")


def anchor_generated_deps(out: Path) -> int:
    """Name the skeleton headers in the test objects' .d files by the output dir.

    The selftests Makefile compiles a test object with `cd $(OUTPUT) && $(CC) -I.
    -MMD`, so gcc records a skeleton it includes (`atomics.lskel.h`) without a
    directory. make reads those .d files from the source dir (`make -C
    tools/testing/selftests/bpf`), where no such file is and no rule makes one
    (the rule's target is `$(TRUNNER_OUTPUT)/%.lskel.h`). So every incremental
    build stopped on `No rule to make target 'atomics.lskel.h'` and started again
    from nothing: on fanotify-bpf@v3.1-6.12 after v3-6.12, all 824 BPF objects,
    2m45s. The name gets the directory of the .d's own target as spelled there
    (`OUTPUT/` plus the Makefile's `/`), which is the string the rule's target
    has. Only skeletons present in the output are renamed; mtimes are kept.
    Returns the files rewritten."""
    n = 0
    for d in sorted(out.glob("*.test.d")) if out.is_dir() else []:
        data = d.read_bytes()
        target = data.split(b":", 1)[0].strip()
        prefix = target[:target.rfind(b"/") + 1]
        if not prefix:
            continue

        def anchor(m: re.Match) -> bytes:
            name = m.group(1)
            return prefix + name if (out / name.decode()).is_file() else name
        new = _BARE_SKEL.sub(anchor, data)
        if new != data:
            st = d.stat()
            d.write_bytes(new)
            os.utime(d, ns=(st.st_atime_ns, st.st_mtime_ns))
            n += 1
    return n


def _repository(tree: Path) -> Path | None:
    """The git dir shared by `tree` and its sibling worktrees; None if not a checkout."""
    dot = tree / ".git"
    return dot.resolve() if dot.is_dir() else repository(tree)


def _same_repository(old: Path, new: Path) -> bool:
    mine = _repository(new)
    return mine is not None and _repository(old) == mine


RECORDS = (".d", ".cmd")


def repath_output(out: Path, old: str, new: Path) -> int:
    """Rewrite the worktree path `old` to `new` in the output's make records: gcc's
    .d files of the test objects (read by the Makefile's include), and the .cmd
    and .d files of the libbpf, bpftool and resolve_btfids builds under tools/
    (their commands name the tree by absolute path: a changed command rebuilds
    every libbpf object, and libbpf.a after it relinks everything). Left alone,
    the .d files would follow the old worktree's headers, missing this one's
    changes, or fail where it is gone. Other files naming the old path are
    binaries (debug info), which make does not read. mtimes are kept: a record
    rewritten is not a source changed. Returns the files rewritten."""
    was, now = (old.rstrip("/") + "/").encode(), (str(new).rstrip("/") + "/").encode()
    n = 0
    for p in out.rglob("*") if out.is_dir() else []:
        if not p.name.endswith(RECORDS) or p.is_symlink() or not p.is_file():
            continue
        data = p.read_bytes()
        if was in data:
            st = p.stat()
            p.write_bytes(data.replace(was, now))
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
            n += 1
    return n


_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*["<]([^">]+)[">]', re.M)


def remake_stale_bpf_objects(tree: Path, out: Path) -> list[Path]:
    """The Makefile builds each BPF object (progs/X.c to X.bpf.o, and again in each
    flavour dir: no_alu32/, cpuv4/) from its source, progs/*.h, vmlinux.h and four
    libbpf headers, with no dependency file: a header it includes from elsewhere
    (bpf_experimental.h, bpf_kfuncs.h, ../bpf_testmod/bpf_testmod_kfunc.h,
    <linux/bpf.h> from tools/include/uapi) may change and leave the object stale.
    A fresh output compiles everything; an incremental one would keep such
    objects. So the includes are followed here, through the tree only, and each
    object older than a header it includes is removed: make compiles it again,
    and the skeleton and test objects after it. Returns the objects removed."""
    dirs = [tree / BPF_DIR, tree / "tools/include/uapi"]
    newest: dict[Path, float] = {}
    deps: dict[Path, float] = {}
    gone = []
    for src, obj in bpf_objects(tree, out):
        if src not in deps:
            deps[src] = _newest_include(src, dirs, newest, set())
        if obj.stat().st_mtime < deps[src]:
            obj.unlink()
            gone.append(obj)
    return gone


def _newest_include(src: Path, dirs: list[Path], memo: dict[Path, float],
                    seen: set[Path]) -> float:
    """The newest mtime among the headers `src` includes, directly or through
    others, found beside it or in `dirs` (0 when none is)."""
    newest = 0.0
    seen.add(src)
    try:
        text = src.read_bytes()
    except OSError:
        return newest
    for name in _INCLUDE.findall(text):
        rel = name.decode(errors="replace")
        hdr = next((c for c in (d / rel for d in [src.parent] + dirs) if c.is_file()), None)
        if hdr is None:
            continue
        hdr = hdr.resolve()
        if hdr not in memo:
            if hdr in seen:
                continue                        # an include cycle: counted where it began
            memo[hdr] = max(hdr.stat().st_mtime, _newest_include(hdr, dirs, memo, seen))
        newest = max(newest, memo[hdr])
    return newest


# make's own complaint when an earlier output's .d files name generated headers
# (e.g. `atomics.lskel.h`) by a path that has no rule any more
_STALE_DEP = re.compile(r"No rule to make target '[^']*\.(?:l?skel|subskel)\.h'")


def _stale_output(log: Path) -> bool:
    """Did an incremental build fail on the earlier output itself, not on code?"""
    text = log.read_text(errors="replace") if log.exists() else ""
    return bool(_STALE_DEP.search(text)) and not first_errors(text.splitlines())


def _restart_output(fam: Family, out: Path, log: Path) -> None:
    """Keep the failed incremental log and empty the output for one clean build."""
    os.replace(log, log.with_name("selftests-build.incremental.log"))
    shutil.rmtree(out, ignore_errors=True)
    srcsync.forget(fam.selftests_sources)
    out.mkdir(parents=True, exist_ok=True)


def _relative_errors(errs: list[FileError]) -> list[FileError]:
    """File names relative to the bpf selftests dir, wherever the tree was."""
    out: list[FileError] = []
    for e in errs:
        f = e.file.split(BPF_DIR + "/", 1)[-1]
        if all(x.file != f for x in out):
            out.append(replace(e, file=f))
    return out


def _runtime_copy(out: Path) -> Path:
    """What test_progs needs at run time: the output dir without the host tool
    builds and the intermediate objects (kept as a sibling dir, then stored)."""
    dest = out.parent / "selftests-bpf-runtime"
    shutil.rmtree(dest, ignore_errors=True)

    def skip(_dir, names):
        return [n for n in names if n == "tools" or n.endswith(".d")
                or (n.endswith(".o") and not n.endswith(".bpf.o"))]
    shutil.copytree(out, dest, ignore=skip, symlinks=True)
    return dest


@dataclass
class KselftestRequest:
    tree: Path
    targets: list[str]                  # kselftest TARGETS, e.g. ["size"]
    out_dir: Path                       # build output (O=) and install dir parent
    jobs: int = 2
    nice: bool = True
    timeout: float = 1800
    use_cache: bool = True


@dataclass
class KselftestResult:
    install_dir: Path                   # has run_kselftest.sh and kselftest-list.txt
    key: str
    cached: bool
    duration: float
    log: Path


KSELFTEST_INSTALL = "kselftest_install"
KSELFTEST_FLAGS = ["ARCH=x86_64"]


def kselftest_key(req: KselftestRequest, runner) -> str:
    """The tree's state (its UAPI headers, which the tests compile against, and the
    tests' sources), the targets in their order (the install's run order), the
    compiler and make. Not the kernel: the build uses no kernel build dir."""
    head, dirty = tree_state(runner, req.tree)
    return KeyParts("kselftest", head, dirty, "", versions(runner, ["make", "gcc"]),
                    "x86_64", KSELFTEST_FLAGS, list(req.targets)).digest()


def build_kselftest(req: KselftestRequest, runner) -> KselftestResult:
    """The installed kselftest targets of this tree, from the build cache by key
    (kselftest_key) unless req.use_cache is off, else built (_make_kselftest) and
    stored, so a run builds them once for every job of the same tree state."""
    t0 = time.monotonic()
    req.tree = Path(req.tree).resolve()
    key = kselftest_key(req, runner)
    hit = cache.lookup(key) if req.use_cache else None
    if hit is not None:
        return KselftestResult(hit / KSELFTEST_INSTALL, key, True, time.monotonic() - t0,
                               hit / "build.log")
    inst, log = _make_kselftest(req, runner)
    art = cache.store(key, {"build.log": log}, {KSELFTEST_INSTALL: inst},
                      {"targets": list(req.targets)})
    return KselftestResult(art / KSELFTEST_INSTALL, key, False, time.monotonic() - t0,
                           art / "build.log")


def _make_kselftest(req: KselftestRequest, runner) -> tuple[Path, Path]:
    """`make headers` into a private O= dir (the tests compile against this
    tree's UAPI, not the host's), then `make -C tools/testing/selftests
    TARGETS=... O=... install`; the install dir runs them with run_kselftest.sh.
    Returns the install dir and the build log."""
    tree = req.tree
    out = Path(req.out_dir).resolve()
    inst, log = out / KSELFTEST_INSTALL, out / "kselftest-build.log"
    shutil.rmtree(inst, ignore_errors=True)
    nice = NICE if req.nice else []
    headers = nice + ["make", "-C", str(tree), f"O={out / 'build'}"] + KSELFTEST_FLAGS + \
        ["headers"]
    res = runner.run(headers, log=out / "headers.log", timeout=req.timeout)
    if res.returncode == 0:
        argv = nice + [
            "make", "-C", str(tree / "tools/testing/selftests"), f"-j{req.jobs}",
            f"TARGETS={' '.join(req.targets)}", f"O={out / 'build'}", "install",
            f"INSTALL_PATH={inst}"]
        res = runner.run(argv, log=log, timeout=req.timeout)
    else:
        log = out / "headers.log"
    text = log.read_text(errors="replace") if log.exists() else ""
    if res.returncode != 0 or not (inst / "run_kselftest.sh").is_file():
        errs = first_errors(text.splitlines(), strip=(str(tree),))
        lines = "\n".join("  " + e.text() for e in errs[:10]) or "  (no error line found)"
        raise SelftestsBuildError(f"kselftest build of {' '.join(req.targets)} failed:\n{lines}",
                                  errs, log)
    return inst, log
