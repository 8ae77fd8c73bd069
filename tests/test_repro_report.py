from pathlib import Path

import pytest

from common.errors import InputError
from repro.diag import Diagnostic, parse_diagnostics
from repro.match import NOT_REPRODUCED, PARTIAL, REPRODUCED, match_diagnostics
from repro.report import load_report, parse_compiler, parse_report

DATA = Path(__file__).parent / "data" / "reports"


def test_kerneldoc_report_every_field():
    r = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    assert r.kind == "build" and r.headline == "build warnings"
    assert r.message_id == "202506180814.GoByWn1r-lkp@intel.com"
    assert r.subject.startswith("Re: [PATCH v5 bpf-next 1/5] namei: Introduce new helper")
    assert r.tested_on == ["bpf-next/master"]
    assert r.url.endswith("/20250617-141548")
    assert r.base == "https://git.kernel.org/pub/scm/linux/kernel/git/bpf/bpf-next.git master"
    assert r.patch_message_id == "20250617061116.3681325-2-song@kernel.org"
    assert r.patch_subject == ("[PATCH v5 bpf-next 1/5] namei: Introduce new helper function "
                               "path_walk_parent()")
    assert r.config_name == "loongarch-randconfig-r072-20250618" and r.arch == "loongarch"
    assert r.config_url.endswith("202506180814.GoByWn1r-lkp@intel.com/config")
    assert (r.compiler.name, r.compiler.version, r.compiler.cross_prefix) == \
        ("gcc", "12.4.0", "loongarch64-linux")
    assert r.w1 and r.reproduce_url.endswith("/reproduce")
    assert r.reported_by == ["kernel test robot <lkp@intel.com>"]
    assert r.closes == ["https://lore.kernel.org/oe-kbuild-all/202506180814.GoByWn1r-lkp@intel.com/"]
    assert [(d.file, d.line, d.kind, d.function, d.new) for d in r.diagnostics] == \
        [("fs/namei.c", 2072, "kernel-doc", "__path_walk_parent", True)] * 3
    assert ["'path'" in r.diagnostics[0].message, "'root'" in r.diagnostics[1].message,
            "'flags'" in r.diagnostics[2].message] == [True] * 3
    assert r.unparsed == []


def test_mime_report_with_reproduce_attachment():
    r = load_report(DATA / "fanotify-v2-gcc-w1.mbox")
    assert r.also_tested == ["jack-fs/fsnotify", "linus/master", "v6.12", "next-20241115"]
    assert r.cannot_apply == ["bpf/master"]
    assert r.make_flags == ["W=1", "O=build_dir", "ARCH=x86_64", "SHELL=/bin/bash"]
    assert r.make_arch == "x86_64"
    assert r.make_targets == ["fs/notify/fanotify/"]
    assert "reproduce" in r.attachments
    new = [d for d in r.diagnostics if d.new]
    assert [(d.line, d.function, d.flag) for d in new] == \
        [(214, "bpf_fanotify_data_inode", "-Wmissing-prototypes")]
    old = [d for d in r.diagnostics if not d.new]
    assert old[0].function == "fanotify_fastpath_add"
    assert (r.compiler.name, r.compiler.version) == ("gcc", "12.2.0")


def test_clang_sparse_plain_text():
    r = parse_report((DATA / "clang-sparse.txt").read_bytes(), "clang-sparse.txt")
    assert r.message_id is None and r.config_url is None
    assert (r.compiler.name, r.compiler.major) == ("clang", 13)
    assert r.make_flags == ["W=1", "C=1", "CF=-fdiagnostic-prefix -D__CHECK_ENDIAN__",
                            "ARCH=x86_64"]
    assert r.make_targets == ["kernel/bpf/"]
    assert r.patch_message_id == \
        "22bededbd502e0df45326a54b3056941de65a101.1617831474.git.dxu@dxuuu.xyz"
    kinds = [(d.kind, d.severity, d.new) for d in r.diagnostics]
    assert kinds == [("sparse", "warning", True), ("compiler", "warning", True),
                     ("compiler", "note", False), ("compiler", "error", True)]
    assert "expected void **slot" in r.diagnostics[0].message
    assert r.reported_by == ["kernel test robot <lkp@intel.com>"]


def test_link_error_report():
    r = parse_report((DATA / "link-error.txt").read_bytes())
    assert r.headline == "build errors"
    assert [(d.kind, d.function) for d in r.diagnostics] == \
        [("linker", "bpf_iter_path_next"), ("modpost", None)]
    assert (r.compiler.name, r.compiler.version) == ("clang", "21.0.0")


def test_runtime_report():
    r = parse_report((DATA / "runtime-kasan.txt").read_bytes())
    assert r.kind == "runtime"
    assert r.headline == "BUG:KASAN:slab-use-after-free_in_bpf_iter_path_next"
    assert r.commit == "6c1b0d1a9e2f4b7c8d3e5f60718293a4b5c6d7e8"
    assert r.commit_subject == "bpf: Introduce path iterator"
    assert r.testcase == "kernel-selftests-bpf"
    assert r.params == {"group": "bpf", "test": "test_progs"}
    assert r.config_name == "x86_64-rhel-9.4-bpf" and r.compiler.name == "gcc"
    assert r.test_machine.startswith("8 threads")
    assert r.reported_by == ["kernel test robot <oliver.sang@intel.com>"]
    assert len(r.splats) == 1 and r.splats[0].kind == "kasan"
    assert r.patch_message_id == "20250606213015.255134-3-song@kernel.org"


def test_unknown_lines_are_listed_not_dropped():
    text = (DATA / "path-iter-v5-kerneldoc.eml").read_bytes().replace(
        b"compiler: loongarch64", b"frobnicator: yes\ncompiler: loongarch64")
    r = parse_report(text)
    assert any("frobnicator: yes" in t for _, t in r.unparsed)


def test_truncated_report_says_so():
    text = (DATA / "link-error.txt").read_text().split("All errors")[0]
    r = parse_report(text.encode())
    assert r.diagnostics == []
    assert any("truncated" in t for _, t in r.unparsed)


@pytest.mark.parametrize("data,msg", [(b"", "empty report"),
                                      (b"Subject: hi\n\nhello there\n", "not a kernel test robot")])
def test_bad_reports(data, msg):
    with pytest.raises(InputError, match=msg):
        parse_report(data, "x.eml")


def test_malformed_mime_still_parses_or_errors_cleanly():
    data = b"Subject: x\nContent-Type: multipart/mixed; boundary=zz\n\n--zz\ngarbage"
    with pytest.raises(InputError):
        parse_report(data, "bad.eml")


@pytest.mark.parametrize("text,expect", [
    ("loongarch64-linux-gcc (GCC) 12.4.0", ("gcc", "12.4.0", "loongarch64-linux")),
    ("gcc-12 (Debian 12.2.0-14) 12.2.0", ("gcc", "12.2.0", None)),
    ("clang version 19.1.7 (https://github.com/llvm/llvm-project abc)", ("clang", "19.1.7", None)),
    ("gcc-12", ("gcc", "12", None)),
])
def test_parse_compiler(text, expect):
    c = parse_compiler(text)
    assert (c.name, c.version, c.cross_prefix) == expect


def test_match_tolerates_line_drift_and_reports_partial():
    reported = load_report(DATA / "path-iter-v5-kerneldoc.eml").diagnostics
    build_log = [
        "/src/fs/namei.c:2080: warning: Function parameter or struct member 'path' not "
        "described in '__path_walk_parent'",
        "/src/fs/namei.c:2080: warning: Function parameter or struct member 'root' not "
        "described in '__path_walk_parent'",
    ]
    seen = parse_diagnostics(build_log)
    v = match_diagnostics(reported, seen, src_root="/src")
    assert v.verdict == PARTIAL and len(v.matched) == 2 and len(v.missing) == 1
    assert "'flags'" in v.missing[0].message
    seen.append(Diagnostic("kernel-doc", "fs/namei.c", 2081, None,
                           "Function parameter or struct member 'flags' not described in "
                           "'__path_walk_parent'", function="__path_walk_parent"))
    assert match_diagnostics(reported, seen, src_root="/src").verdict == REPRODUCED
    assert match_diagnostics(reported, []).verdict == NOT_REPRODUCED


def test_match_requires_same_function():
    reported = parse_diagnostics(["a.c: In function 'f':",
                                  ">> a.c:1:1: warning: unused variable 'x' [-Wunused-variable]"])
    assert reported[0].function == "f"
    other = parse_diagnostics(["a.c: In function 'g':",
                               "a.c:1:1: warning: unused variable 'x' [-Wunused-variable]"])
    assert match_diagnostics(reported, other).verdict == NOT_REPRODUCED


def test_a_reported_sparse_warning_matches_the_one_a_build_prints():
    """The robot appends sparse's expected/got lines to the message (`@@ ... @@`);
    a build log prints them on lines of their own. Both are read by the build's
    parser and compared by one key, so they are the same warning."""
    reported = parse_report((DATA / "clang-sparse.txt").read_bytes()).diagnostics[:1]
    seen = parse_diagnostics([
        "  CHECK   ../kernel/bpf/pagecache_iter.c",
        "../kernel/bpf/pagecache_iter.c:141:44: warning: incorrect type in argument 1 "
        "(different address spaces)",
        "../kernel/bpf/pagecache_iter.c:141:44:    expected void **slot",
        "../kernel/bpf/pagecache_iter.c:141:44:    got void [noderef] __rcu **"])
    assert [(d.kind, d.line) for d in seen] == [("sparse", 141)]
    v = match_diagnostics(reported, seen)
    assert v.verdict == REPRODUCED and v.matched[0][1].line == 141
