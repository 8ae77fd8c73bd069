"""Every real report format the robot sends, read with nothing left over: the
reminder form, ld and ld.lld link errors, modpost, sparse, make.cross reproduce
lines, the tested-on lines, runtime boot reports; and the no-toolchain verdict."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.report import load_report, parse_report

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "reports"
FIXTURES = sorted(p.name for p in DATA.iterdir() if p.suffix in (".txt", ".eml", ".mbox"))


def harness(*argv):
    return subprocess.run([sys.executable, str(ROOT / "harness.py"), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("name", FIXTURES)
def test_every_fixture_is_read_whole(name):
    assert load_report(DATA / name).unparsed == []


def test_parse_only_json_lists_no_unread_line():
    res = harness("repro", "--parse-only", "--json", str(DATA / "reminder-arm-w1.txt"))
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["unparsed"] == [] and d["arch"] == "arm" and d["reminder"]


def test_reminder_form():
    r = load_report(DATA / "reminder-arm-w1.txt")
    assert r.kind == "build" and r.reminder == "FYI, the error/warning still remains"
    assert r.tree.endswith("bpf-next.git master") and r.head.startswith("4c3a9e1f")
    assert r.commit == "9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a291807"
    assert r.commit_subject == "time: leave an unused variable in time64_to_tm"
    assert r.date == "3 weeks ago"
    assert (r.make_compiler, r.compiler_install_path) == ("gcc-14.3.0", "$HOME/0day")
    assert r.make_flags == ["W=1", "O=build_dir", "ARCH=arm", "SHELL=/bin/bash"]
    assert r.make_targets == ["kernel/time/"] and r.arch == "arm"
    (d,) = r.diagnostics
    assert (d.file, d.line, d.function, d.flag, d.new) == \
        ("kernel/time/timeconv.c", 54, "time64_to_tm", "-Wunused-variable", True)


@pytest.mark.parametrize("text", ["FYI, the error/warning was not fixed yet.",
                                  "FYI, the error/warning was bisected to this commit, please "
                                  "ignore it if it's irrelevant."])
def test_other_reminder_lines(text):
    data = (DATA / "reminder-arm-w1.txt").read_text().replace(
        "FYI, the error/warning still remains.", text)
    r = parse_report(data.encode())
    assert r.kind == "build" and r.reminder and r.unparsed == []


def test_ld_link_errors_with_lines_and_modpost():
    r = load_report(DATA / "ld-link-error.txt")
    got = [(d.kind, d.file, d.line, d.function, d.message) for d in r.diagnostics]
    assert ("modpost", "kernel/bpf/path_iter.ko", None, None,
            '"path_walk_parent" [kernel/bpf/path_iter.ko] undefined!') in got
    assert ("linker", "kernel/bpf/path_iter.c", 125, "bpf_iter_path_next",
            "undefined reference to `path_walk_parent'") in got
    assert ("linker", "kernel/bpf/path_iter.c", 131, "bpf_iter_path_next",
            "undefined reference to `path_put_parent'") in got
    assert r.also_tested == ["linus/master", "v6.18-rc2", "next-20251024"]
    assert r.cannot_apply == ["bpf/master"]


def test_lld_undefined_symbol_with_its_references():
    r = load_report(DATA / "lld-link-error.txt")
    (d,) = r.diagnostics
    assert (d.kind, d.severity, d.message, d.new) == \
        ("linker", "error", "undefined symbol: path_walk_parent", True)
    assert r.arch == "riscv" and r.compiler.name == "clang"


def test_m68k_w1_with_kconfig_warnings():
    r = load_report(DATA / "m68k-gcc-w1.txt")
    new = [(d.line, d.function, d.flag) for d in r.diagnostics if d.new]
    assert new == [(214, "fanotify_fastpath_add", "-Wunused-but-set-variable"),
                   (301, None, "-Wmissing-prototypes")]
    assert r.kconfig_warnings[0] == "WARNING: unmet direct dependencies detected for " \
                                    "GET_FREE_REGION"
    assert r.make_targets == ["fs/notify/fanotify/"] and r.w1


def test_riscv_sparse():
    r = load_report(DATA / "riscv-sparse.txt")
    assert [d.kind for d in r.diagnostics] == ["sparse", "sparse"]
    assert [d.new for d in r.diagnostics] == [True, False]
    assert "C=1" in r.make_flags and "CF=-fdiagnostic-prefix -D__CHECK_ENDIAN__" in r.make_flags


def test_arm64_clang():
    r = load_report(DATA / "arm64-clang.txt")
    assert r.arch == "arm64" and (r.compiler.name, r.compiler.major) == ("clang", 19)
    assert [d.severity for d in r.diagnostics] == ["warning", "note", "note"]


def test_runtime_boot_warn():
    r = load_report(DATA / "runtime-boot-warn.txt")
    assert r.kind == "runtime" and r.testcase == "boot"
    assert (r.machine_cpus, r.machine_memory) == (2, "16G")
    assert r.runtime_table["boot_failures"] == ["0", "18"]
    (s,) = r.splats
    assert s.kind == "warning" and "time64_to_tm" in s.title


def test_an_unread_diagnostics_line_is_listed_by_number():
    text = (DATA / "m68k-gcc-w1.txt").read_text().replace(
        "Kconfig warnings:", "frobnicated: 3 widgets\nKconfig warnings:")
    r = parse_report(text.encode())
    lines = text.splitlines()
    assert [(n, t) for n, t in r.unparsed] == [(lines.index("frobnicated: 3 widgets") + 1,
                                                "frobnicated: 3 widgets")]


def test_no_toolchain_verdict_through_harness_repro():
    """csky: no gcc-csky in Debian and not an LLVM target: exit 2, said plainly,
    before anything is looked up or built."""
    res = harness("repro", str(DATA / "csky-gcc.txt"))
    assert res.returncode == 2, res.stderr
    assert "cannot build csky here: no gcc-csky in Debian, not an LLVM target" in res.stderr
    assert res.stdout == ""
