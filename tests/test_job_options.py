"""The one table of job options: every command line and file of a job derives from
it, and every option survives each trip (argv, matrix entry, reproduce.sh, a
bisect step)."""
import shlex

import pytest
import yaml

from harness import build_parser
from pipeline.job import (JobSpec, OPTIONS, check_table, spec_from_args, spec_to_argv,
                          spec_to_entry)
from pipeline.matrix import load_matrix
from pipeline.reproduce import harness_argv

# One spec per option, each with a value other than the default.
NON_DEFAULT = {
    "series": dict(series="path-iterator", rev="v5-6.12"),
    "tree": dict(tree="bpf-next"),
    "profile": dict(profile="small"),
    "fragments": dict(fragments=["kasan", "lockdep"]),
    "toolchain": dict(toolchain="llvm-19"),
    "arch": dict(arch="arm64"),
    "suites": dict(suites=["smoke", "landlock"]),
    "accel": dict(accel="tcg"),
    "upto": dict(upto=2),
    "skip": dict(skip=1),
    "rebuild": dict(rebuild=True),
    "allow_drop": dict(allow_drop=["DEBUG_INFO_BTF"]),
    "make_flags": dict(make_flags=["W=1", "KCFLAGS=-Wno-error"]),
    "targets": dict(targets=["fs/namei.o"]),
    "name": dict(name="nightly"),
    "worktree": dict(worktree="/srv/linux"),
    "series_config": dict(series_config=False),
    "new_warnings": dict(new_warnings=True),
    "mbox": dict(mbox="/srv/postings/v3.mbx"),
    "cache_max_size": dict(cache_max_size="5G"),
}


def test_table_covers_the_spec_exactly():
    check_table()
    assert {o.field for o in OPTIONS} == set(NON_DEFAULT)


def spec_for(field: str) -> JobSpec:
    values = NON_DEFAULT[field]
    if field != "series":
        values = {**values, "series": "kharness-fixture", "rev": "v1"}
    return JobSpec(**values)


def parse_run(argv: list[str]) -> JobSpec:
    return spec_from_args(build_parser().parse_args(["run", *argv]))


@pytest.mark.parametrize("field", sorted(NON_DEFAULT))
def test_argv_round_trip(field):
    spec = spec_for(field)
    assert parse_run(spec_to_argv(spec)) == spec


@pytest.mark.parametrize("field", sorted(NON_DEFAULT))
def test_matrix_entry_round_trip(field, tmp_path):
    spec = spec_for(field)
    f = tmp_path / "m.yaml"
    f.write_text(yaml.safe_dump({"jobs": [spec_to_entry(spec)]}))
    assert load_matrix(f) == [spec]


@pytest.mark.parametrize("field", sorted(NON_DEFAULT))
def test_reproduce_sh_round_trip(field):
    """reproduce.sh's command line, as bash would split it, runs the same job."""
    spec = spec_for(field)
    line = " ".join(shlex.quote(a) for a in harness_argv(spec))
    argv = shlex.split(line)
    assert argv[:2] == ["./harness.py", "run"]
    assert parse_run(argv[2:]) == spec


@pytest.mark.parametrize("field", sorted(NON_DEFAULT))
def test_bisect_step_forwards_every_step_option(field, tmp_path):
    from bisection.cli import step_argv
    spec = spec_for(field)
    argv = step_argv(spec, "build", 3, tmp_path)
    i = argv.index("bisect-step")
    args = build_parser().parse_args(argv[i:])
    got = spec_from_args(args, need_series=False)
    forwarded = {o.field for o in OPTIONS if o.step}
    want = JobSpec(**{f: getattr(spec, f) for f in forwarded | {"rev"}})
    assert got == want
    assert args.criterion == "build" and args.tries == 3


def test_base_only_round_trips():
    spec = JobSpec(profile="small", make_flags=["C=1"])
    assert spec_to_argv(spec)[0] == "--base-only"
    assert parse_run(spec_to_argv(spec)) == spec
    assert spec_to_entry(spec) == {"base": True, "profile": "small", "make_flags": ["C=1"]}


@pytest.mark.parametrize("suites,label", [
    ([], "default"),
    (["smoke"], "smoke"),
    (["kharness-fixture", "smoke"], "kharness-fixture+smoke"),
    (["/tmp/r/repro-suites/repro-boot-8e067a42.yaml"], "repro-boot-8e067a42"),
])
def test_job_name_never_carries_a_suite_path(suites, label):
    spec = JobSpec(series="kharness-fixture", rev="v1", suites=suites)
    assert spec.suite_label() == label
    assert all("/" not in part for part in spec.job_parts())
