"""Config stage: fragments, profiles, merge, olddefconfig, verification.

Public API:

    make_config(req: ConfigRequest, runner) -> ConfigResult
        Run the profile's base target (tinyconfig/defconfig) in req.build_dir (O=),
        merge the profile's fragments then req.fragments in that order (later wins;
        conflicts are recorded), run `make olddefconfig` with ARCH/LLVM, and check
        every requested symbol against the final .config. Writes
        req.results_dir/{config, config-report.txt, config-report.json}. Raises
        ConfigError (exit 4) when a symbol is dropped/changed (unless in
        req.allow_drop) or no Kconfig defines it; InputError (file, line) for bad
        fragments or profiles.

    ConfigRequest(tree, build_dir, results_dir, profile=None, fragments=[], base=None,
                  arch="x86_64", llvm=None | "1" | "-19", allow_drop=[], params={},
                  nice=True, timeout=900)
    ConfigResult(config, results_config, report_txt, report_json, base, fragments,
                 requested, checks: list[SymbolCheck], conflicts: list[Conflict], duration)

Fragments (configs/fragments/): NAME.config or NAME.config.j2 (jinja2, parameters
arch, toolchain = gcc|llvm, debug = 0..2, plus profile/request params);
series/NAME.config per series; `bpf` is read from the tree at run time
(tools/testing/selftests/bpf/config, config.<arch>, config.vm); `tree:<path>` reads
any file of the tree; a path to a .config file works too.

Profiles (configs/profiles/NAME.yaml): `base`, ordered `fragments`, optional `params`.

Helpers: configs.kconfig.KconfigTree(tree, arch) (definitions, depends, selects),
configs.kexpr (expression parse/evaluate/render), configs.merge (merge_fragments,
read_dotconfig, apply_settings), configs.verify (compare, explain, report_text).
"""
from .stage import ConfigRequest, ConfigResult, make_config

__all__ = ["ConfigRequest", "ConfigResult", "make_config"]
