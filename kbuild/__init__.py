"""Build stage: kernel and selftests builds with a keyed cache, ccache, warnings.

Public API:

    build_kernel(req: BuildRequest, runner, progress=None) -> BuildResult
        Key = sha256(tree HEAD, uncommitted tracked changes outside
        tools/testing/selftests, final .config, toolchain version lines, arch, make
        flags, targets). A finished build with that key (artifacts dir holding the
        `complete` marker) is reused: cached=True. Otherwise builds in the family's
        persistent dir (cache_dir()/kbuild/obj/<tree>-<family>-<toolchain>/build,
        moved into <tree>/.kharness-build for the build so paths are relative and
        ccache hits across worktrees), with CC="ccache <cc>", fixed
        KBUILD_BUILD_* values, nice -n 10, and stores bzImage, vmlinux, System.map,
        .config, modules/, build.log, warnings.json under
        cache_dir()/kbuild/artifacts/<key>/. Raises BuildError (exit 5) with the
        first error of each failing file; InfraError for a missing tool (names the
        Debian package) or a full disk; InputError for an unreadable .config.
        BuildResult.warnings is the tree's full set: the build dir keeps a warning
        record per set of make flags (kbuild.warnrecord, object -> warnings of its
        last compile), so an object this build did not recompile still counts.

    BuildRequest(tree, config, results_dir=None, tree_name=None, config_family="custom",
                 toolchain="gcc" | "llvm" | "llvm-19", arch="x86_64", jobs=0, w1=False,
                 sparse=False, targets=[], ccache=True, nice=True, base_warnings=None,
                 timeout=14400, use_cache=True)
        base_warnings: a list of Diagnostic, or a path that load_warnings reads (a job
        dir, its build/ dir, an artifacts dir, or any of their warnings.json).
    BuildResult(artifacts_dir, bzimage, vmlinux, key, cached, duration, warnings,
                new_warnings, build_dir, family, log, warnings_report, modules)

    build_selftests(req: SelftestsRequest, runner, progress=None) -> SelftestsResult
        Applies req.fixups (patch files; skipped when already in), then builds
        tools/testing/selftests/bpf targets (default test_progs) with CLANG=clang-19,
        LLC=llc-19, LLVM_STRIP=llvm-strip-19 ... against the family's kernel build
        dir (KBUILD_OUTPUT, VMLINUX_BTF=<build dir>/vmlinux). Same keyed cache.
        Raises SelftestsBuildError(BuildError) with .errors (first error per file).

    build_kselftest(req: KselftestRequest, runner) -> KselftestResult
        make -C tools/testing/selftests TARGETS=... O=<out>/build install
        INSTALL_PATH=<out>/kselftest_install (quick TAP-producing tests). Same keyed
        cache (tree state, targets, make and gcc): .cached, .install_dir in the cache.

Diagnostics (kbuild.logparse, the one parser; repro reads robot reports with it):
parse_diagnostics(lines) -> [Diagnostic(kind, file, line, col, message, flag, function,
severity, new)] for compiler, kernel-doc, sparse, modpost, linker, objtool lines;
parse_warnings(lines) keeps the warnings. Diagnostic.key() is "the same warning":
file, function, message (line drift tolerated). new_warnings(current, base) uses it;
warnings_report(current, new) marks the new ones with `>>`; first_errors(lines).
"""
from .build import BuildRequest, BuildResult, build_kernel
from .selftests import (KselftestRequest, KselftestResult, SelftestsBuildError,
                        SelftestsRequest, SelftestsResult, build_kselftest, build_selftests)

__all__ = ["BuildRequest", "BuildResult", "build_kernel", "SelftestsRequest",
           "SelftestsResult", "SelftestsBuildError", "build_selftests", "KselftestRequest",
           "KselftestResult", "build_kselftest"]
