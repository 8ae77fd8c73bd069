"""A repro plan as a job: the robot's config whole (profile `whole`, no series
fragment), the report's arch and make flags, and repro's own job-table options."""
from types import SimpleNamespace

from harness import build_parser
from repro.plan import Plan, make_flags_for
from repro.report import parse_report
from repro.run import job_spec


def plan(**kw):
    base = dict(series="kharness-fixture", rev="v4", upto=None, tree=None, profile="whole",
                config_file="/srv/r/config", make_flags=["W=1", "CF=-D__CHECK_ENDIAN__"],
                targets=["arch/arm64/kernel/kharness.o"], compiler="gcc", arch="arm64")
    base.update(kw)
    return Plan(**base)


def test_the_robot_config_is_the_whole_config():
    spec = job_spec(plan())
    assert (spec.profile, spec.fragments, spec.series_config) == \
        ("whole", ["/srv/r/config"], False)
    assert spec.arch == "arm64" and spec.toolchain == "gcc"
    assert spec.make_flags == ["W=1", "CF=-D__CHECK_ENDIAN__"]
    assert spec.targets == ["arch/arm64/kernel/kharness.o"]


def test_repro_takes_the_job_options_from_the_table():
    args = build_parser().parse_args(["repro", "r.eml", "--allow-drop", "KASAN",
                                      "--make-flag", "KCFLAGS=-Wno-error", "--rebuild",
                                      "--target", "kernel/fork.o", "--accel", "tcg"])
    spec = job_spec(plan(), args)
    assert spec.allow_drop == ["KASAN"] and spec.rebuild and spec.accel == "tcg"
    assert spec.make_flags == ["W=1", "CF=-D__CHECK_ENDIAN__", "KCFLAGS=-Wno-error"]
    assert spec.targets == ["kernel/fork.o"]
    assert args.arch is None and args.toolchain is None     # not given: the report decides


def test_make_flags_keep_cf_and_leave_out_what_the_job_sets():
    rep = parse_report(b"kernel test robot noticed the following build warnings:\n"
                       b"reproduce (this is a W=1 build):\n"
                       b"        make.cross W=1 C=1 CF='-fdiagnostic-prefix -D__CHECK_ENDIAN__'"
                       b" O=build_dir ARCH=riscv LLVM=1 SHELL=/bin/bash drivers/x.o\n"
                       b"All warnings (new ones prefixed by >>):\n")
    flags, notes = make_flags_for(rep)
    assert flags == ["W=1", "C=1", "CF=-fdiagnostic-prefix -D__CHECK_ENDIAN__"]
    assert rep.make_targets == ["drivers/x.o"] and rep.make_arch == "riscv"
    assert notes == ["the report's O=build_dir is not passed to make: the harness chooses "
                     "the build dir", "the report's SHELL=/bin/bash is not passed to make: "
                     "make.cross's own; the kernel's make picks its shell"]
