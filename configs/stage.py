"""The config stage: base target, merge fragments, olddefconfig, verify."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import ConfigError, InputError
from common.fsutil import atomic_write, write_json

from .fragment import Fragment, Setting
from .kconfig import KconfigTree
from .merge import Conflict, apply_settings, merge_fragments, read_dotconfig_file
from .merge import config_line
from .profiles import BASE_TARGETS, WHOLE, load_profile, resolve_fragment
from .verify import OK, SymbolCheck, compare, explain, report_text, whole_config_checks

NICE = ["nice", "-n", "10"]


@dataclass
class ConfigRequest:
    tree: Path                       # kernel source tree (clean: no .config in it)
    build_dir: Path                  # O= directory; the final .config lands here
    results_dir: Path                # config, config-report.txt, config-report.json
    profile: str | None = None       # configs/profiles/<profile>.yaml
    fragments: list[str] = field(default_factory=list)   # applied after the profile's
    base: str | None = None          # base make target when there is no profile
    arch: str = "x86_64"
    llvm: str | None = None          # None (gcc), "1", or "-19"
    cross: list[str] = field(default_factory=list)   # a cross gcc's CROSS_COMPILE=, CC=
    allow_drop: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)           # template parameters
    nice: bool = True
    timeout: float = 900.0


@dataclass
class ConfigResult:
    config: Path                     # build_dir/.config
    results_config: Path             # copy in the results dir
    report_txt: Path
    report_json: Path
    base: str
    fragments: list[str]             # names in merge order
    requested: dict[str, str]        # symbol -> requested value (after merge)
    checks: list[SymbolCheck]
    conflicts: list[Conflict]
    duration: float

    @property
    def failed(self) -> list[SymbolCheck]:
        return [c for c in self.checks if c.failed]


def make_argv(req: ConfigRequest, *targets: str) -> list[str]:
    argv = (NICE if req.nice else []) + ["make", "-C", str(req.tree), f"O={req.build_dir}",
                                          f"ARCH={req.arch}"]
    if req.llvm:
        argv.append(f"LLVM={req.llvm}")
    return argv + list(req.cross) + list(targets)


def _params(req: ConfigRequest, profile_params: dict) -> dict:
    params = {"arch": req.arch, "toolchain": "llvm" if req.llvm else "gcc", "debug": 1}
    params.update(profile_params)
    params.update(req.params)
    return params


def _load(req: ConfigRequest) -> tuple[str, list[Fragment], list[str]]:
    """Everything that can fail on bad input, before anything is written."""
    names: list[str] = []
    base = req.base
    pparams: dict = {}
    drops: list[str] = []
    if req.profile:
        prof = load_profile(req.profile)
        names, pparams, drops = list(prof.fragments), prof.params, prof.allow_drop
        base = base or prof.base
    if not base:
        raise InputError("no base target: give a profile or a base (tinyconfig, defconfig)")
    if base not in BASE_TARGETS + (WHOLE,):
        raise InputError(f"unknown base target '{base}'",
                         hint=f"one of {', '.join(BASE_TARGETS + (WHOLE,))}")
    names += req.fragments
    if base == WHOLE and not names:
        raise InputError("profile 'whole' takes the whole .config as a fragment",
                         hint="--profile whole --fragment /path/to/config")
    params = _params(req, pparams)
    frags = [f for n in names for f in resolve_fragment(n, req.tree, params)]
    return base, frags, drops


def check_tree(tree: Path) -> None:
    if not (tree / "Makefile").is_file() or not (tree / "Kconfig").is_file():
        raise InputError("not a kernel source tree (no Makefile/Kconfig)", path=str(tree))
    if (tree / ".config").exists() or (tree / "include" / "config").exists():
        raise ConfigError(f"source tree {tree} is not clean (it has a .config)",
                          hint=f"O= builds need a clean tree: make -C {tree} mrproper")


def make_config(req: ConfigRequest, runner) -> ConfigResult:
    """Base target, merged fragments (later wins), olddefconfig, then verification.
    Raises ConfigError when a requested symbol was dropped or changed (unless
    allowed) or names no Kconfig symbol; the reports are written either way."""
    t0 = time.monotonic()
    req.tree, req.build_dir = Path(req.tree).resolve(), Path(req.build_dir).resolve()
    req.results_dir = Path(req.results_dir)
    check_tree(req.tree)
    base, frags, profile_drops = _load(req)
    requested, conflicts = merge_fragments(frags)
    req.build_dir.mkdir(parents=True, exist_ok=True)
    dotconfig = req.build_dir / ".config"
    if base == WHOLE:        # the .config as given (a robot's), then olddefconfig
        atomic_write(dotconfig, "".join(config_line(sym, st.value) + "\n"
                                        for sym, st in requested.items()))
    else:
        runner.run(make_argv(req, base), timeout=req.timeout, check=True, error=ConfigError)
        atomic_write(dotconfig, apply_settings(dotconfig.read_text(), requested))
    runner.run(make_argv(req, "olddefconfig"), timeout=req.timeout, check=True,
               error=ConfigError)
    values = read_dotconfig_file(dotconfig)
    checks = compare(requested, values, set(req.allow_drop) | set(profile_drops))
    if base == WHOLE:
        if any(c.status != OK for c in checks):
            whole_config_checks(checks, KconfigTree(req.tree, req.arch), values)
    elif any(c.status != OK for c in checks) or any(c.requested == "n" for c in checks):
        explain(checks, KconfigTree(req.tree, req.arch), values)
    result = _write_results(req, base, frags, requested, checks, conflicts, dotconfig)
    result.duration = time.monotonic() - t0
    if result.failed:
        names = ", ".join(f"CONFIG_{c.symbol}" for c in result.failed[:8])
        raise ConfigError(f"{len(result.failed)} requested config symbols not as asked: "
                          f"{names} (report: {result.report_txt})",
                          hint="see the report for the unmet dependencies; "
                               "--allow-drop SYM accepts a drop")
    return result


def _write_results(req, base, frags, requested: dict[str, Setting], checks, conflicts,
                   dotconfig: Path) -> ConfigResult:
    rd = req.results_dir
    names = [f.name for f in frags]
    res = ConfigResult(dotconfig, rd / "config", rd / "config-report.txt",
                       rd / "config-report.json", base, names,
                       {s: st.value for s, st in requested.items()}, checks, conflicts, 0.0)
    atomic_write(res.results_config, dotconfig.read_text())
    atomic_write(res.report_txt, report_text(checks, conflicts, [base] + names))
    write_json(res.report_json, {
        "base": base, "fragments": names, "arch": req.arch, "llvm": req.llvm,
        "conflicts": [c.to_dict() for c in conflicts],
        "checks": [c.to_dict() for c in checks],
        "failed": [c.symbol for c in checks if c.failed]})
    return res
