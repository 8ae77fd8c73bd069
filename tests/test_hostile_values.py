"""Values that used to be accepted silently: suite timeouts of .inf/.nan and absurd
CPU counts (exit 2 naming the suite file and line), `--tries 0`, `--jobs 0`,
criterion `boot:x`; and a bad manifest no longer makes `series list` print
nothing: the others are listed, the bad one's error printed, exit 2."""
import pytest

import harness
from test_patches_common import cache, write_manifest  # noqa: F401

SUITE = """name: {name}
runner: test_progs
allow: [verifier_and]
{extra}
"""


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


@pytest.mark.parametrize("extra,key", [
    ("timeout:\n  test: .inf", "test"), ("timeout:\n  test: .nan", "test"),
    ("timeout:\n  suite: .inf", "suite"), ("timeout:\n  test: 1e30", "test"),
    ("vm:\n  cpus: 100000000", "cpus"), ("parallel: 100000000", "parallel"),
    ("retries: 1000000", "retries"),
])
def test_absurd_suite_numbers_are_refused(tmp_path, capsys, extra, key):
    f = tmp_path / "odd.yaml"
    f.write_text(SUITE.format(name="odd", extra=extra))
    code = harness.main(["run", "--base-only", "--profile", "small", "--suite", str(f),
                         "--check"])
    err = capsys.readouterr().err
    assert code == 2 and f"'{key}' must be" in err and str(f) in err


def test_sane_suite_numbers_still_pass(tmp_path, capsys):
    f = tmp_path / "fine.yaml"
    f.write_text(SUITE.format(name="fine", extra="timeout:\n  test: 90.5\n  suite: 3600\n"
                                                 "vm:\n  cpus: 4"))
    assert harness.main(["run", "--base-only", "--profile", "small", "--suite", str(f),
                         "--check"]) == 0


@pytest.mark.parametrize("argv", [
    ["bisect", "kharness-fixture@v1", "--criterion", "build", "--tries", "0"],
    ["bisect", "kharness-fixture@v1", "--criterion", "build", "--tries", "-2"],
    ["matrix", "pipeline/matrices/smoke-small.yaml", "--jobs", "0", "--check"],
], ids=["tries-0", "tries-negative", "jobs-0"])
def test_zero_tries_or_jobs_is_a_usage_error(capsys, argv):
    with pytest.raises(SystemExit) as e:    # argparse's usage error
        harness.main(argv)
    assert e.value.code == 2
    assert "must be 1 or more" in capsys.readouterr().err


@pytest.mark.parametrize("crit", ["boot:x", "build:fs/namei.o", "boot:"])
def test_a_criterion_without_argument_refuses_one(capsys, crit):
    assert harness.main(["bisect", "kharness-fixture@v1", "--criterion", crit,
                         "--profile", "small"]) == 2
    assert "takes no argument" in capsys.readouterr().err


def test_series_list_shows_the_good_manifests_and_the_bad_ones_error(cache, capsys):  # noqa: F811
    bad = write_manifest(cache, "broken", [{"version": "v1"}]) / "series.yaml"
    assert harness.main(["series", "list"]) == 2
    out = capsys.readouterr()
    assert "path-iterator:" in out.out and str(bad) in out.err
