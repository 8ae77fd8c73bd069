"""Warning and error extraction on recorded build logs; comparison with a base."""
from pathlib import Path

from kbuild.logparse import (COMPILER, KERNEL_DOC, LINKER, MODPOST, SPARSE, Diagnostic,
                             compiled_units, first_errors, new_warnings, parse_warnings,
                             warnings_report)

LOGS = Path(__file__).parent / "data" / "buildlogs"


def lines(name):
    return (LOGS / name).read_text().splitlines()


def test_gcc_w1_sparse_log_kinds_files_lines():
    ws = parse_warnings(lines("gcc-w1-sparse.log"))
    got = [(w.kind, w.file, w.line, w.col, w.flag) for w in ws]
    assert got == [
        (COMPILER, "fs/namei.c", 2718, 13, "-Wunused-but-set-variable"),
        (KERNEL_DOC, "fs/namei.c", 1240, None, None),
        (KERNEL_DOC, "fs/namei.c", 1306, None, None),
        (SPARSE, "fs/namei.c", 3410, 25, None),
        (COMPILER, "include/linux/fs_helper.h", 100, 5, "-Wmissing-prototypes"),
        (SPARSE, "fs/inode.c", 88, 9, None),
        (MODPOST, "drivers/misc/fixture.o", None, None, None),
        (MODPOST, "", None, None, None),
        (LINKER, "", None, None, None),
    ]
    assert ws[1].message == ("Function parameter or struct member 'flags' not described "
                             "in 'path_init'")
    assert ws[3].message == "incorrect type in assignment (different address spaces)"
    assert ws[6].message == "missing MODULE_DESCRIPTION() in drivers/misc/fixture.o"


def test_clang_log_with_absolute_paths_stripped():
    ws = parse_warnings(lines("clang-w1.log"), strip=("/work/wt",))
    assert [(w.kind, w.file, w.line, w.flag) for w in ws] == [
        (COMPILER, "fs/namei.c", 2718, "-Wunused-but-set-variable"),
        (COMPILER, "fs/namei.c", 900, "-Wunused-function"),
        (LINKER, "vmlinux.o", None, None),
    ]


def test_new_warnings_tolerate_line_drift():
    cur = parse_warnings(lines("gcc-w1-sparse.log"))
    base = parse_warnings(lines("gcc-w1-sparse-base.log"))
    new = new_warnings(cur, base)
    assert [(w.file, w.message) for w in new] == [
        ("fs/namei.c", "variable 'len' set but not used"),
        ("drivers/misc/fixture.o", "missing MODULE_DESCRIPTION() in drivers/misc/fixture.o"),
    ]
    assert new_warnings(base, base) == []


def test_a_second_copy_of_a_known_warning_is_new():
    w = Diagnostic(COMPILER, "a.c", 1, 1, "m", "-Wx")
    w2 = Diagnostic(COMPILER, "a.c", 9, 1, "m", "-Wx")
    assert new_warnings([w, w2], [w]) == [w2]


def test_report_marks_new_ones_robot_style():
    cur = parse_warnings(lines("gcc-w1-sparse.log"))
    new = new_warnings(cur, parse_warnings(lines("gcc-w1-sparse-base.log")))
    text = warnings_report(cur, new, "series v2")
    assert text.splitlines()[:2] == ["series v2", "9 warnings, 2 new"]
    assert (">> fs/namei.c:2718:13: warning: variable 'len' set but not used "
            "[-Wunused-but-set-variable]") in text.splitlines()
    assert ">> WARNING: modpost: missing MODULE_DESCRIPTION() in drivers/misc/fixture.o" in text
    assert "   fs/inode.c:88:9: warning: context imbalance" in text
    assert sum(ln.startswith(">> ") for ln in text.splitlines()) == 2


def test_warning_round_trips_through_dict():
    w = parse_warnings(lines("gcc-w1-sparse.log"))[0]
    assert Diagnostic.from_dict(w.to_dict()) == w


def test_first_error_per_file_from_selftests_log():
    errs = first_errors(lines("selftests-fail.log"),
                        strip=("/work/wt/tools/testing/selftests/bpf", "/work/wt"))
    assert [(e.file, e.line) for e in errs] == [
        ("progs/fexit_fixture.c", 42),
        ("prog_tests/fixture_ops.c", 15),
        ("prog_tests/fixture_link.c", 31),
    ]
    assert errs[0].message == "use of undeclared identifier 'fixture_missing'"
    assert errs[2].message == "undefined reference to `fixture_attach'"
    assert errs[1].text() == ("prog_tests/fixture_ops.c:15: error: 'struct bpf_fixture' has "
                              "no member named 'ops'")


def test_make_error_lines_used_when_no_compiler_error():
    errs = first_errors(["make[2]: *** [scripts/Makefile.build:229: fs/namei.o] Error 1"])
    assert [(e.file, e.message) for e in errs] == [("fs/namei.o", "make target failed")]


def test_same_warning_is_file_function_message_whatever_the_line():
    base = parse_warnings(["../a.c: In function 'f':",
                           "../a.c:10:5: warning: unused variable 'x' [-Wunused-variable]"])
    cur = parse_warnings(["../a.c: In function 'f':",
                          "../a.c:14:5: warning: unused variable 'x' [-Wunused-variable]",
                          "../a.c: In function 'g':",
                          "../a.c:30:5: warning: unused variable 'x' [-Wunused-variable]"])
    assert [(w.function, w.line) for w in cur] == [("f", 14), ("g", 30)]
    assert [(w.function, w.line) for w in new_warnings(cur, base)] == [("g", 30)]


def test_each_warning_knows_the_object_whose_build_printed_it():
    ws = parse_warnings(lines("gcc-w1-sparse.log"), strip=("/work/wt",))
    assert [(w.file, w.unit) for w in ws] == [
        ("fs/namei.c", "fs/namei.o"), ("fs/namei.c", "fs/namei.o"),
        ("fs/namei.c", "fs/namei.o"), ("fs/namei.c", "fs/namei.o"),
        ("include/linux/fs_helper.h", "fs/inode.o"),      # `from ../fs/inode.c:7`
        ("fs/inode.c", "fs/inode.o"), ("drivers/misc/fixture.o", "(modpost)"),
        ("", "(modpost)"), ("", "(link)")]
    assert ws[0].function == "lookup_one_common" and ws[1].function == "path_init"
    assert compiled_units(lines("gcc-w1-sparse.log")) == {
        "fs/namei.o", "fs/inode.o", "kernel/fork.o", "drivers/misc/fixture.o", "(link)",
        "(other)"}
