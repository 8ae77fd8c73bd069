"""The kernel build stage: keyed artifact cache, persistent family build dir,
ccache, progress, warnings against a base build."""
from __future__ import annotations

import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import BuildError, InfraError, InputError, UsageError
from common.fsutil import atomic_write, cache_dir, read_json, write_json

from . import cache, srcsync, warnrecord
from .key import KeyParts, tree_state
from .logparse import OBJECT_SUFFIXES, Diagnostic, first_errors, new_warnings, warnings_report
from .objdir import Family, checkout, family_name
from .progress_watch import LogWatcher, remake_count
from .toolchain import Toolchain, check_headers, kernel_tools, toolchain, versions

NICE = ["nice", "-n", "10"]
SELFTESTS_DIR = "tools/testing/selftests"
FIXED_ENV = {"KBUILD_BUILD_TIMESTAMP": "2025-01-01", "KBUILD_BUILD_USER": "kharness",
             "KBUILD_BUILD_HOST": "kharness", "KBUILD_BUILD_VERSION": "1"}
ARCH_IMAGE = {"x86_64": "arch/x86/boot/bzImage", "x86": "arch/x86/boot/bzImage",
              "i386": "arch/x86/boot/bzImage", "arm64": "arch/arm64/boot/Image",
              "arm": "arch/arm/boot/zImage", "riscv": "arch/riscv/boot/Image",
              "s390": "arch/s390/boot/bzImage", "loongarch": "arch/loongarch/boot/vmlinuz.efi"}
BOOTABLE = ("x86_64", "x86")     # the VM stage boots these (qemu-system-x86)


@dataclass
class BuildRequest:
    tree: Path                          # clean kernel source tree (git checkout)
    config: Path                        # the final .config from the config stage
    results_dir: Path | None = None     # gets warnings.txt, warnings.json, build.log
    tree_name: str | None = None        # family part; default: the tree dir's name
    config_family: str = "custom"       # family part; usually the profile name
    toolchain: str = "gcc"              # gcc, llvm (LLVM=1), llvm-19 (LLVM=-19)
    arch: str = "x86_64"
    jobs: int = 0                       # 0: the number of CPUs
    w1: bool = False                    # W=1
    sparse: bool = False                # C=1
    make_flags: list[str] = field(default_factory=list)  # VAR=value, after ARCH and LLVM
    targets: list[str] = field(default_factory=list)   # empty: the default build
    ccache: bool = True
    nice: bool = True
    # the base build's warnings: a list of Diagnostic, or a path (load_warnings)
    base_warnings: Path | str | list[Diagnostic] | None = None
    timeout: float = 4 * 3600
    use_cache: bool = True


@dataclass
class BuildResult:
    artifacts_dir: Path
    bzimage: Path | None
    vmlinux: Path | None
    key: str
    cached: bool
    duration: float
    warnings: list[Diagnostic]          # the tree's full set (the family's warning record)
    new_warnings: list[Diagnostic]      # those the base lacks (file, function, message)
    build_dir: Path                     # the family's persistent build dir
    family: str
    log: Path
    warnings_report: Path | None = None
    modules: Path | None = None
    # objects make was expected to remake (remake_count; None: no usable record, so
    # all) and the objects it compiled, as the build that stored this result counted
    objects: dict | None = None


def make_flags(req: BuildRequest, tc: Toolchain) -> list[str]:
    flags = [f"ARCH={req.arch}"] + tc.make_vars()
    given = {f.partition("=")[0] for f in req.make_flags}
    if req.w1 and "W" not in given:
        flags.append("W=1")
    if req.sparse and "C" not in given:
        flags.append("C=1")
    return flags + list(req.make_flags)


CCACHE_REMOTE_VAR = "KHARNESS_CCACHE_REMOTE"
# ccache 4.7's remote storage backends (CCACHE_REMOTE_STORAGE): redis://HOST:PORT,
# redis+unix:/PATH, http://HOST/PATH, file:/PATH (optionally followed by |attr=value)
CCACHE_REMOTE_SCHEMES = ("redis://", "redis+unix:", "http://", "file:")


def check_ccache_remote(url: str, where: str = CCACHE_REMOTE_VAR) -> str:
    if not url.startswith(CCACHE_REMOTE_SCHEMES) or len(url.split(":", 1)[1]) < 2:
        raise UsageError(f"bad ccache remote '{url}' (from {where}): expected one of "
                         f"{', '.join(s + '...' for s in CCACHE_REMOTE_SCHEMES)}, "
                         f"e.g. redis://127.0.0.1:6379")
    return url


def ccache_remote() -> str | None:
    """The shared compiler cache every compile uses (KHARNESS_CCACHE_REMOTE, set by
    --ccache-remote). A machine-level setting: it never enters a build key."""
    url = os.environ.get(CCACHE_REMOTE_VAR) or None
    return check_ccache_remote(url) if url else None


def redact_remote(url: str | None) -> str | None:
    """The remote as recorded in manifests: a password in it is replaced."""
    if not url:
        return None
    return re.sub(r"(://[^:/@]*:)[^@/]*@", r"\1***@", url)


def build_env(tree: Path, ccache: bool) -> dict[str, str]:
    env = dict(FIXED_ENV)
    if ccache:
        env.update({"CCACHE_DIR": str(cache_dir() / "ccache"), "CCACHE_BASEDIR": str(tree),
                    "CCACHE_NOHASHDIR": "true"})
    remote = ccache_remote()
    if remote:
        # passed to every compile (the selftests build too): a ccache anywhere below
        # make reads and fills the shared cache
        env["CCACHE_REMOTE_STORAGE"] = remote
    return env


def make_argv(req: BuildRequest, tc: Toolchain, obj: Path, flags: list[str],
              targets: list[str]) -> list[str]:
    jobs = req.jobs or os.cpu_count() or 1
    argv = (NICE if req.nice else []) + ["make", "-C", str(req.tree), f"O={obj}",
                                          f"-j{jobs}"] + flags
    if req.ccache:
        argv = [a for a in argv if not a.startswith("CC=")]    # a cross gcc's CC=
        argv.append(f"CC=ccache {tc.cc}")
    return argv + targets


def _config_values(text: str) -> dict[str, str]:
    from configs.merge import read_dotconfig
    return read_dotconfig(text)


def compute_key(req: BuildRequest, runner, tc: Toolchain, config_text: str) -> str:
    values = _config_values(config_text)
    tools = kernel_tools(tc, sparse=req.sparse, ccache=req.ccache,
                         btf=values.get("DEBUG_INFO_BTF") == "y")
    head, dirty = tree_state(runner, req.tree, exclude=(SELFTESTS_DIR,))
    return KeyParts("kernel", head, dirty, config_text, versions(runner, tools), req.arch,
                    make_flags(req, tc), list(req.targets)).digest()


def _check_tree_and_config(req: BuildRequest) -> str:
    from configs.stage import check_tree
    check_tree(req.tree)
    try:
        text = Path(req.config).read_text()
    except OSError as e:
        raise InputError(f"cannot read the .config: {e.strerror}", path=str(req.config)) from e
    values = _config_values(text)
    if not values:
        raise InputError("no CONFIG_ lines: not a .config", path=str(req.config))
    headers = ["/usr/include/gelf.h"] if req.arch in ("x86_64", "x86") else []
    if values.get("MODULE_SIG") == "y" or values.get("SYSTEM_TRUSTED_KEYRING") == "y":
        headers.append("/usr/include/openssl/ssl.h")
    check_headers(headers)
    return text


def load_warnings(base) -> list[Diagnostic] | None:
    """A build's warnings (the base's, for BuildRequest.base_warnings) from what a
    caller has: a list of Diagnostic, or the path of a job dir, its build/ dir, an
    artifacts dir, or the warnings.json of any of them (a list, or the
    {key, cached, warnings, new} a job writes). Bad input raises InputError."""
    if base is None or isinstance(base, list):
        return base
    p = Path(base)
    if p.is_dir():
        found = [f for f in (p / "warnings.json", p / "build" / "warnings.json") if f.is_file()]
        if not found:
            raise InputError("no warnings.json here, nor in its build/ dir", path=str(p))
        p = found[0]
    try:
        data = read_json(p)
        items = data["warnings"] if isinstance(data, dict) else data
        return [Diagnostic.from_dict(d) for d in items]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise InputError(f"cannot read base warnings: {e}", path=str(p)) from e


def build_kernel(req: BuildRequest, runner, progress=None) -> BuildResult:
    """Build (or reuse) the kernel for req.config. Raises BuildError on a failed
    build, InfraError for a missing tool or a full disk."""
    t0 = time.monotonic()
    req.tree = Path(req.tree).resolve()
    config_text = _check_tree_and_config(req)
    tc = toolchain(req.toolchain, req.arch)
    key = compute_key(req, runner, tc, config_text)
    fam = Family(family_name(req.tree_name or req.tree.name, req.config_family,
                             tc.name if req.arch == "x86_64" else f"{tc.name}-{req.arch}"))
    hit = cache.lookup(key) if req.use_cache else None
    if hit is not None:
        res = _result(req, fam, key, hit, cached=True, t0=t0)
        if progress is not None:
            progress.info(f"[build] cached: {key[:12]} ({hit})")
        return res
    started = progress.start("build", fam.name) if progress is not None else None
    try:
        art = _build(req, runner, progress, tc, fam, key, config_text)
    except BaseException:
        if progress is not None:
            progress.end("build", started, "FAILED")
        raise
    res = _result(req, fam, key, art, cached=False, t0=t0)
    if progress is not None:
        progress.end("build", started, "ok", f"{len(res.warnings)} warnings, "
                                             f"{len(res.new_warnings)} new")
    return res


def _build(req, runner, progress, tc, fam: Family, key: str, config_text: str) -> Path:
    targets = list(req.targets)
    log = fam.root / "build.log"
    with checkout(req.tree, fam) as obj:
        sync_sources(runner, req.tree, fam, progress)
        dotconfig = obj / ".config"
        if not dotconfig.is_file() or dotconfig.read_text() != config_text:
            atomic_write(dotconfig, config_text)
        _unlink(log)
        remake_objects(obj, targets)
        record = _open_record(req, tc, obj, progress)
        stats = fam.load_stats()
        argv = make_argv(req, tc, obj, make_flags(req, tc), targets)
        env = build_env(req.tree, req.ccache)
        remake = remake_count(obj)         # this build's objects, not the full build's
        with LogWatcher(log, progress, "build", stats.get("objects") if remake is None
                        else remake, stats.get("per_object")) as watch:
            t = time.monotonic()
            res = runner.run(argv, env=env, log=log, timeout=req.timeout)
        text = _read(log)
        warnrecord.update(record, obj, text.splitlines(), strip=(str(obj), str(req.tree)))
        if res.returncode != 0:
            _fail(req, log, text, obj)
        mods = _modules(req, runner, tc, obj, fam, log, env, config_text)
        srcsync.built(runner, req.tree, fam.sources)
        _update_stats(fam, stats, watch.count, time.monotonic() - t, bool(targets))
        wjson = fam.root / "warnings.json"
        write_json(wjson, [w.to_dict() for w in warnrecord.full_set(record, obj)])
        return cache.store(key, _artifact_files(req, obj, log, wjson),
                           {"modules": mods} if mods else None,
                           {"family": fam.name, "tree": str(req.tree),
                            "ccache_remote": redact_remote(env.get("CCACHE_REMOTE_STORAGE")),
                            "objects": {"predicted": remake, "compiled": watch.count}})


def _open_record(req: BuildRequest, tc: Toolchain, obj: Path, progress) -> warnrecord.Record:
    """The build dir's warning record for these make flags. Before a whole build the
    objects it does not know are removed, so this build compiles them and records
    their warnings; a build of named targets would not remake them, so it keeps them."""
    record = warnrecord.load(obj, make_flags(req, tc))
    if req.targets:
        return record
    gone = warnrecord.forget_unrecorded(record, obj)
    if gone and progress is not None:
        progress.info(f"[build] warning record: {len(gone)} objects not recorded under "
                      f"{' '.join(record.flags)}; compiling them again")
    return record


def remake_objects(obj: Path, targets: list[str]) -> list[Path]:
    """Remove the named single-file targets (`fs/namei.o`) from the build dir, so make
    compiles them again and prints their warnings again: an up-to-date object prints
    nothing, and a warning criterion would then see a clean build. Returns what was
    removed."""
    gone = []
    for t in targets:
        p = obj / t
        inside = p.resolve().is_relative_to(obj.resolve())    # never `../x.o`
        if t.endswith(OBJECT_SUFFIXES) and inside and p.is_file():
            p.unlink()
            gone.append(p)
    return gone


def sync_sources(runner, tree: Path, fam: Family, progress=None) -> None:
    """Set the worktree's mtimes so make rebuilds what differs from what the
    family's objects were built from (srcsync)."""
    res = srcsync.sync(runner, tree, fam.sources, (fam.selftests_sources,))
    if res is not None and progress is not None:
        how = "all (no usable record)" if res.full else f"{res.touched} changed"
        progress.info(f"[build] sources: {how} of {res.files} files marked for make")


def _artifact_files(req: BuildRequest, obj: Path, log: Path, wjson: Path) -> dict[str, Path]:
    files = {"build.log": log, "warnings.json": wjson, ".config": obj / ".config"}
    image = obj / ARCH_IMAGE.get(req.arch, "vmlinux")
    # the image the VM stage boots is `bzImage`; another arch's is kept as `Image`
    boot = "bzImage" if req.arch in BOOTABLE else "Image"
    for name, p in ((boot, image), ("vmlinux", obj / "vmlinux"),
                    ("System.map", obj / "System.map")):
        if p.is_file() and not req.targets:
            files[name] = p
    return files


def _modules(req, runner, tc, obj: Path, fam: Family, log: Path, env, config_text) -> Path | None:
    if req.targets or "CONFIG_MODULES=y" not in config_text.splitlines():
        return None
    stage = fam.root / "modules-staging"
    shutil.rmtree(stage, ignore_errors=True)
    argv = make_argv(req, tc, obj, make_flags(req, tc), [
        "modules_install", f"INSTALL_MOD_PATH={stage}", "INSTALL_MOD_STRIP=1"])
    res = runner.run(argv, env=env, log=log, timeout=req.timeout)
    if res.returncode != 0:
        _fail(req, log, _read(log), obj)
    return stage


def _update_stats(fam: Family, stats: dict, count: int, took: float, partial: bool) -> None:
    if partial or count == 0:
        return
    new = dict(stats)
    new["objects"] = max(count, stats.get("objects", 0))
    if count >= 50:
        new["per_object"] = took / count
    new["last_duration"] = took
    fam.save_stats(new)


def _fail(req: BuildRequest, log: Path, text: str, obj: Path) -> None:
    if "No space left on device" in text:
        raise InfraError(f"disk full during the build (log: {log})",
                         hint=f"free space under {cache_dir()}")
    errs = first_errors(text.splitlines(), strip=(str(req.tree), str(obj)))
    if req.results_dir is not None:
        _copy_log(log, Path(req.results_dir))
    lines = "\n".join("  " + e.text() for e in errs[:10]) or "  (no compiler error found)"
    raise BuildError(f"kernel build failed (log: {log}):\n{lines}")


def _result(req, fam: Family, key: str, art: Path, *, cached: bool, t0: float) -> BuildResult:
    warns = [Diagnostic.from_dict(d) for d in read_json(art / "warnings.json")]
    base = load_warnings(req.base_warnings)
    new = new_warnings(warns, base) if base is not None else []
    res = BuildResult(
        artifacts_dir=art, bzimage=_maybe(art / "bzImage"), vmlinux=_maybe(art / "vmlinux"),
        key=key, cached=cached, duration=0.0, warnings=warns, new_warnings=new,
        build_dir=fam.obj, family=fam.name, log=art / "build.log",
        modules=art / "modules" if (art / "modules").is_dir() else None,
        objects=_stored_objects(art))
    if req.results_dir is not None:
        rd = Path(req.results_dir)
        title = f"build {key[:12]}" + (" (against base)" if base is not None else "")
        res.warnings_report = rd / "warnings.txt"
        atomic_write(res.warnings_report, warnings_report(warns, new, title))
        write_json(rd / "warnings.json", {"key": key, "cached": cached, "base": base is not None,
                                          "warnings": [w.to_dict() for w in warns],
                                          "new": [w.to_dict() for w in new]})
        _copy_log(art / "build.log", rd)
    res.duration = time.monotonic() - t0
    return res


def _stored_objects(art: Path) -> dict | None:
    """The object counts the build that stored `art` recorded (older builds: None)."""
    try:
        return read_json(art / cache.COMPLETE).get("objects")
    except (OSError, ValueError, AttributeError):
        return None


def _copy_log(log: Path, rd: Path) -> None:
    try:
        rd.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log, rd / "build.log")
    except OSError as e:
        raise InfraError(f"cannot copy the build log to {rd}: {e.strerror}") from e


def _maybe(p: Path) -> Path | None:
    return p if p.exists() else None


def _unlink(p: Path) -> None:
    try:
        p.unlink()
    except FileNotFoundError:
        pass


def _read(p: Path) -> str:
    try:
        return p.read_text(errors="replace")
    except FileNotFoundError:
        return ""
