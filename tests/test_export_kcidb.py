"""KCIDB export of the recorded runs, validated with kcidb-io's own schema (pinned)."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import jsonschema
import pytest
from kcidb_io.schema import LATEST

import harness
from results.export import export_run, kcidb_path, patchset_hash

RUNS = Path(__file__).parent / "data" / "runs"
RECORDED = ["fixture-v1", "fixture-v2-upto3", "test_progs-parent-fail"]


def _file_of(url: str) -> Path:
    u = urlparse(url)
    assert u.scheme == "file", url
    return Path(url2pathname(u.path))


@pytest.mark.parametrize("run", RECORDED)
def test_recorded_run_validates_against_kcidb_schema(run):
    doc = export_run(RUNS / run)
    LATEST.validate_exactly(doc)
    assert (LATEST.major, LATEST.minor) == (doc["version"]["major"], doc["version"]["minor"])
    assert len(doc["checkouts"]) == 1 and len(doc["builds"]) == 1
    build = doc["builds"][0]
    assert build["checkout_id"] == doc["checkouts"][0]["id"]
    assert all(t["build_id"] == build["id"] for t in doc["tests"])
    assert len({t["id"] for t in doc["tests"]}) == len(doc["tests"])
    for obj in doc["checkouts"] + doc["builds"] + doc["tests"]:
        for key in ("log_url", "config_url"):
            if key in obj:
                assert _file_of(obj[key]).is_file(), obj[key]


def test_fixture_v2_failure_build_and_checkout():
    doc = export_run(RUNS / "fixture-v2-upto3")
    status = {t["path"]: t["status"] for t in doc["tests"]}
    assert status == {"boot": "PASS", "kharness-fixture.proc_version": "PASS",
                      "kharness-fixture.tmp_writable": "PASS",
                      "kharness-fixture.release_ok": "FAIL"}
    fail = next(t for t in doc["tests"] if t["status"] == "FAIL")
    assert _file_of(fail["log_url"]).name == "001-kharness-fixture.log"
    assert fail["environment"]["misc"]["accel"] == "tcg"
    build = doc["builds"][0]
    assert build["config_name"] == "small+vm-min"
    assert build["compiler"].startswith("gcc (Debian 12.2.0")
    assert build["architecture"] == "x86_64"
    assert _file_of(build["config_url"]) == (RUNS / "fixture-v2-upto3/config/config").resolve()
    co = doc["checkouts"][0]
    man = json.loads((RUNS / "fixture-v2-upto3/manifest.json").read_text())
    assert co["git_commit_hash"] == man["facts"]["tree"]["commit"]
    assert co["tree_name"] == "debian-6.12"
    assert co["misc"]["series"] == "kharness-fixture@v2"
    assert len(co["misc"]["patches"]) == 3


def test_parent_failure_and_splat_are_failures():
    doc = export_run(RUNS / "test_progs-parent-fail")
    by_path = {t["misc"]["harness_path"]: t for t in doc["tests"] if "misc" in t
               and "harness_path" in t["misc"]}
    assert by_path["test_progs/task_local_storage"]["status"] == "FAIL"
    assert by_path["test_progs/d_path/basic"]["status"] == "FAIL"
    splat = next(t for p, t in by_path.items() if "/splat-" in p)
    assert splat["status"] == "FAIL" and "circular locking" in splat["log_excerpt"]
    assert _file_of(splat["log_url"]).name == "dmesg.txt"
    assert _file_of(by_path["test_progs/d_path/basic"]["log_url"]).name == "003-d_path.log"
    assert _file_of(by_path["test_progs/task_local_storage"]["log_url"]).name == \
        "002-task_local_storage.log"
    assert by_path["test_progs/align/mov"]["status"] == "PASS"


def test_patchset_hash_is_kcidbs_formula():
    # sha256sum *.patch | cut -c-64 | sha256sum | cut -c-64
    hashes = [hashlib.sha256(b"a").hexdigest(), hashlib.sha256(b"b").hexdigest()]
    expect = hashlib.sha256(f"{hashes[0]}\n{hashes[1]}\n".encode()).hexdigest()
    assert patchset_hash(hashes) == expect
    assert patchset_hash([]) == ""


def test_kcidb_path_keeps_to_the_schema_pattern():
    assert kcidb_path("test_progs/d_path/basic") == "test_progs.d_path.basic"
    assert kcidb_path("kselftest/net:fcnal test.sh") == "kselftest.net_fcnal_test_sh"


def test_schema_rejects_a_slash_path():
    """The validation the tests rely on does reject a bad document."""
    doc = export_run(RUNS / "fixture-v1")
    doc["tests"][1]["path"] = "kharness-fixture/proc_version"
    with pytest.raises(jsonschema.exceptions.ValidationError):
        LATEST.validate_exactly(doc)


def test_matrix_jobs_share_one_checkout_and_base_url(tmp_path):
    run = tmp_path / "20261123-run"
    for name in ("job-a", "job-b"):
        shutil.copytree(RUNS / "fixture-v2-upto3", run / "s" / "v2" / name)
    doc = export_run(run, base_url="https://ci.example.org/runs/20261123-run/")
    LATEST.validate_exactly(doc)
    assert len(doc["checkouts"]) == 1 and len(doc["builds"]) == 2
    assert doc["builds"][0]["log_url"] == \
        "https://ci.example.org/runs/20261123-run/s/v2/job-a/build/build.log"


def test_cli_export_writes_valid_document(tmp_path, capsys):
    out = tmp_path / "kcidb.json"
    assert harness.main(["export", "--kcidb", str(RUNS / "fixture-v1"), "--out", str(out)]) == 0
    LATEST.validate_exactly(json.loads(out.read_text()))
    assert harness.main(["export", "--kcidb", str(tmp_path / "nothing")]) == 2
    assert "no such results directory" in capsys.readouterr().err


def test_patchset_files_from_reproduce_dir(tmp_path):
    job = tmp_path / "job"
    shutil.copytree(RUNS / "fixture-v2-upto3", job)
    pdir = job / "reproduce" / "patches"
    pdir.mkdir(parents=True)
    names = ["0001-fixup-selftests-bpf.patch", "0002-selftests-kharness.patch",
             "0003-kbuild-tag.patch", "0004-kbuild-mark.patch"]
    for n in names:
        (pdir / n).write_text("patch\n")
    doc = export_run(job)
    LATEST.validate_exactly(doc)
    files = doc["checkouts"][0]["patchset_files"]
    assert [f["name"] for f in files] == names[1:]     # the series' own, not the fix-up
    assert all(_file_of(f["url"]).is_file() for f in files)
