"""Profiles (configs/profiles/<name>.yaml) and fragment lookup by name."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from common.errors import InputError
from common.yamlfile import Located, line_of, load_yaml

from .fragment import Fragment, load_fragment

CONFIGS_DIR = Path(__file__).resolve().parent
FRAGMENTS_DIR = CONFIGS_DIR / "fragments"
PROFILES_DIR = CONFIGS_DIR / "profiles"

BASE_TARGETS = ("tinyconfig", "defconfig", "allnoconfig", "kvm_guest.config")
# `base: whole`: no base target; the fragments (a robot's .config) are the whole config
WHOLE = "whole"
PROFILE_KEYS = {"description", "base", "fragments", "params", "allow_drop"}

# Fragments read from the kernel tree at run time (they change with the tree).
# The first file is required; the others are used where present.
TREE_FRAGMENTS = {
    "bpf": ["tools/testing/selftests/bpf/config",
            "tools/testing/selftests/bpf/config.{arch}",
            "tools/testing/selftests/bpf/config.vm"],
}


@dataclass
class Profile:
    name: str
    base: str
    fragments: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)
    description: str = ""
    allow_drop: list[str] = field(default_factory=list)
    path: str = ""


def profile_path(name: str) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") and p.is_file():
        return p
    return PROFILES_DIR / f"{name}.yaml"


def list_profiles() -> list[str]:
    return sorted(p.stem for p in PROFILES_DIR.glob("*.yaml"))


def load_profile(name: str) -> Profile:
    path = profile_path(name)
    if not path.is_file():
        raise InputError(f"unknown profile '{name}'",
                         hint=f"known profiles: {', '.join(list_profiles())}")
    data = load_yaml(path)
    sp = str(path)
    if not isinstance(data, Located):
        raise InputError("a profile is a mapping", path=sp, line=line_of(data))
    for key in data:
        if key not in PROFILE_KEYS:
            raise InputError(f"unknown key '{key}'", path=sp, line=line_of(data, key),
                             hint=f"known keys: {', '.join(sorted(PROFILE_KEYS))}")
    base = data.get("base")
    if base not in BASE_TARGETS + (WHOLE,):
        raise InputError(f"base must be one of {', '.join(BASE_TARGETS + (WHOLE,))}, "
                         f"not {base!r}",
                         path=sp, line=line_of(data, "base"))
    frags = data.get("fragments", [])
    if not isinstance(frags, list) or not all(isinstance(f, str) for f in frags):
        raise InputError("fragments must be a list of fragment names", path=sp,
                         line=line_of(data, "fragments"))
    params = data.get("params", {})
    if not isinstance(params, dict):
        raise InputError("params must be a mapping", path=sp, line=line_of(data, "params"))
    drops = data.get("allow_drop", [])
    if not isinstance(drops, list) or not all(isinstance(d, str) for d in drops):
        raise InputError("allow_drop must be a list of symbol names", path=sp,
                         line=line_of(data, "allow_drop"))
    return Profile(name=Path(sp).stem, base=base, fragments=list(frags), params=dict(params),
                   description=str(data.get("description", "")), path=sp,
                   allow_drop=[d.removeprefix("CONFIG_") for d in drops])


def _tree_fragments(name: str, tree: Path, arch: str) -> list[Fragment]:
    out = []
    for i, rel in enumerate(TREE_FRAGMENTS[name]):
        path = tree / rel.format(arch=arch)
        if not path.is_file():
            if i == 0:
                raise InputError(f"fragment '{name}' reads {rel} from the tree, which lacks it",
                                 path=str(path))
            continue
        out.append(load_fragment(path, {}, name=f"{name}:{path.name}"))
    return out


def resolve_fragment(name: str, tree: Path, params: dict) -> list[Fragment]:
    """A fragment name, `series/<name>`, `tree:<path in tree>`, or a file path."""
    arch = params.get("arch", "x86_64")
    if name in TREE_FRAGMENTS:
        return _tree_fragments(name, tree, arch)
    if name.startswith("tree:"):
        path = tree / name[5:]
        if not path.is_file():
            raise InputError(f"no such file in the tree: {name[5:]}", path=str(path))
        return [load_fragment(path, params, name=name)]
    direct = Path(name)
    if (direct.suffix in (".config", ".j2") or direct.is_absolute()) and direct.is_file():
        return [load_fragment(direct, params, name=name)]
    for cand in (FRAGMENTS_DIR / f"{name}.config", FRAGMENTS_DIR / f"{name}.config.j2"):
        if cand.is_file():
            return [load_fragment(cand, params, name=name)]
    raise InputError(f"unknown fragment '{name}'",
                     hint=f"known fragments: {', '.join(list_fragments())}")


def check_fragment(name: str, where: str | None = None) -> None:
    """That `name` names a fragment (the check phase: no tree needed yet). Fragments
    read from the tree are checked when the config stage reads them."""
    if name in TREE_FRAGMENTS or name.startswith("tree:"):
        return
    direct = Path(name)
    if direct.suffix in (".config", ".j2") or direct.is_absolute():
        if direct.is_file():
            return
        raise InputError(f"fragment file '{name}' does not exist", path=where)
    if any(c.is_file() for c in (FRAGMENTS_DIR / f"{name}.config",
                                  FRAGMENTS_DIR / f"{name}.config.j2")):
        return
    raise InputError(f"unknown fragment '{name}'", path=where,
                     hint=f"known fragments: {', '.join(list_fragments())}")


def list_fragments() -> list[str]:
    names = set(TREE_FRAGMENTS)
    for p in FRAGMENTS_DIR.rglob("*.config*"):
        rel = p.relative_to(FRAGMENTS_DIR).as_posix()
        names.add(rel.removesuffix(".j2").removesuffix(".config"))
    return sorted(names)
