"""Untrusted names and make targets refused before anything is built (exit 2):
series names and revision labels that would escape the results root or hold a
line break, job names with control characters, make targets from a robot email
or --target that are install targets, absolute paths or `..`."""
from pathlib import Path

import pytest

import harness

REPORTS = Path(__file__).parent / "data" / "reports"


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


@pytest.mark.parametrize("spec", ["..@..", "path-iterator@..", "path-iterator@v5.1-6.12\n",
                                  "path-iterator\n@v1", ".hidden@v1", "x@-v1"])
def test_run_refuses_a_series_that_is_not_a_name(spec, capsys):
    assert harness.main(["run", spec, "--check"]) == 2
    assert "is not a name" in capsys.readouterr().err


@pytest.mark.parametrize("spec", ["../../etc@v1", "path-iterator@../x",
                                  "path-iterator\ntouch /tmp/x"])
def test_a_series_with_a_slash_is_a_posting_path_that_must_exist(spec, capsys):
    assert harness.main(["run", spec, "--check"]) == 2
    assert "no such mbox or directory of patches" in capsys.readouterr().err


def test_a_matrix_entry_with_a_bad_series_names_its_file_and_line(tmp_path, capsys):
    m = tmp_path / "m.yaml"
    m.write_text('jobs:\n  - series: "..@.."\n')
    assert harness.main(["matrix", str(m), "--check"]) == 2
    assert f"{m}:2" in capsys.readouterr().err


def test_a_job_name_with_a_line_break_is_refused(capsys):
    assert harness.main(["run", "--base-only", "--profile", "small", "--name", "x\ny",
                         "--check"]) == 2
    assert "--name" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["install", "modules_install", "headers_install",
                                    "/boot/x.o", "../x.o", "fs/../../x.o", "INSTALL_PATH=/x"])
def test_run_refuses_targets_outside_objects_dirs_and_images(target, capsys):
    code = harness.main(["run", "--base-only", "--profile", "small", "--target", target,
                         "--check"])
    assert code == 2 and "a make target inside the tree" in capsys.readouterr().err


@pytest.mark.parametrize("target", ["fs/namei.o", "fs/notify/fanotify/", "vmlinux", "bzImage",
                                    "modules", "net/core"])
def test_run_accepts_object_dir_and_image_targets(target, capsys):
    assert harness.main(["run", "--base-only", "--profile", "small", "--target", target,
                         "--check"]) == 0


def test_a_robot_report_asking_for_install_targets_is_refused(tmp_path, capsys):
    text = (REPORTS / "fanotify-v2-gcc-w1.mbox").read_text()
    bad = tmp_path / "crafted.mbox"
    bad.write_text(text.replace("SHELL=/bin/bash fs/notify/fanotify/",
                                "SHELL=/bin/bash install modules_install headers_install"))
    assert harness.main(["repro", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "install modules_install headers_install" in err and str(bad) in err
