"""`matrix --plan` and `--shard I/N|auto` through the CLI (harness.main)."""
import json

import pytest

import harness
from pipeline.plan import parse_shard

DEFAULT = "pipeline/matrices/default.yaml"


def run(capsys, *argv):
    code = harness.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def fixture_matrix(tmp_path):
    m = tmp_path / "m.yaml"
    m.write_text("defaults: {profile: small}\njobs:\n"
                 "  - series: kharness-fixture@v1\n    name: fix1\n"
                 "  - series: kharness-fixture@v1\n    name: fix2\n    make_flags: [W=1]\n"
                 "  - base: true\n    name: base\n")
    return m


def test_plan_json_puts_base_first_and_covers_every_job(capsys, tmp_path):
    m = fixture_matrix(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    code, out, _ = run(capsys, "matrix", str(m), "--plan", "--shards", "2")
    assert code == 0
    d = json.loads(out)
    assert d["shards"] == 2 and len(d["plan_id"]) == 16 and "base first" in d["order"]
    jobs = [[j["job"] for j in s["jobs"]] for s in d["shard_list"]]
    assert jobs == [["base", "fix2"], ["fix1"]]        # the base job leads shard 1
    fix2 = d["shard_list"][0]["jobs"][1]
    assert fix2["build_inputs"]["make_flags"] == ["W=1"]
    assert fix2["build_inputs"]["series"] == "kharness-fixture"
    assert fix2["build_inputs"]["rev"] == "v1"
    keys = d["shard_list"][0]["cache_keys"]
    assert keys["ccache"].startswith(keys["ccache_restore"])
    assert keys["builds"].startswith(keys["builds_restore"])
    assert sorted(p.name for p in tmp_path.iterdir()) == before     # changes nothing


def test_plan_github_and_k8s_formats(capsys, tmp_path):
    m = fixture_matrix(tmp_path)
    code, out, _ = run(capsys, "matrix", str(m), "--plan", "--shards", "3", "--format",
                       "github")
    assert code == 0 and "\n" not in out.strip()          # one line for $GITHUB_OUTPUT
    inc = json.loads(out)["include"]
    assert [x["shard"] for x in inc] == ["1/3", "2/3", "3/3"]
    assert len({x["plan_id"] for x in inc}) == 1
    assert [x["jobs"] for x in inc] == ["base", "fix1", "fix2"]
    code, out, _ = run(capsys, "matrix", str(m), "--plan", "--format", "k8s")
    k = json.loads(out)
    assert (k["completions"], k["completionMode"]) == (3, "Indexed")   # default: 1 per job
    assert k["env"]["KHARNESS_SHARDS"] == "3" and k["plan_id"] == inc[0]["plan_id"]


def test_plan_id_changes_with_the_jobs_and_the_shard_count(capsys, tmp_path):
    m = fixture_matrix(tmp_path)
    ids = []
    for n in ("2", "3", "2"):
        ids.append(json.loads(run(capsys, "matrix", str(m), "--plan", "--shards", n)[1])
                   ["plan_id"])
    assert ids[0] == ids[2] != ids[1]
    m.write_text(m.read_text().replace("W=1", "W=2"))
    assert json.loads(run(capsys, "matrix", str(m), "--plan", "--shards", "2")[1])[
        "plan_id"] != ids[0]


def test_shard_auto_reads_job_completion_index(capsys, tmp_path, monkeypatch):
    m = fixture_matrix(tmp_path)
    monkeypatch.setenv("JOB_COMPLETION_INDEX", "1")
    code, out, _ = run(capsys, "matrix", str(m), "--shard", "auto", "--shards", "2", "--check")
    assert code == 0
    assert out.splitlines()[0].startswith("fix1:") and "check: ok (1 jobs)" in out
    code, out, _ = run(capsys, "matrix", str(m), "--shard", "1/2", "--check")
    assert [ln.split(":")[0] for ln in out.splitlines()[:2]] == ["base", "fix2"]


@pytest.mark.parametrize("env,argv,needle", [
    ({}, ["--shards", "2"], "JOB_COMPLETION_INDEX is not set"),
    ({"JOB_COMPLETION_INDEX": "2"}, ["--shards", "2"], "JOB_COMPLETION_INDEX=2 is outside 0..1"),
    ({"JOB_COMPLETION_INDEX": "x"}, ["--shards", "2"], "bad JOB_COMPLETION_INDEX='x'"),
    ({"JOB_COMPLETION_INDEX": "0"}, [], "needs the shard count"),
    ({"JOB_COMPLETION_INDEX": "0", "KHARNESS_SHARDS": "two"}, [], "bad KHARNESS_SHARDS"),
])
def test_shard_auto_bad_environment_exits_2(capsys, tmp_path, monkeypatch, env, argv, needle):
    m = fixture_matrix(tmp_path)
    for var in ("JOB_COMPLETION_INDEX", "KHARNESS_SHARDS"):
        monkeypatch.delenv(var, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code, _, err = run(capsys, "matrix", str(m), "--shard", "auto", *argv, "--check")
    assert code == 2 and needle in err


@pytest.mark.parametrize("text,shards,needle", [
    ("0/2", None, "need 1 <= I <= N"), ("3/2", None, "need 1 <= I <= N"),
    ("1-2", None, "expected I/N"), ("1/2", 3, "disagrees with --shards 3"),
])
def test_bad_shard_text(text, shards, needle):
    from common.errors import UsageError
    with pytest.raises(UsageError, match=needle):
        parse_shard(text, shards, env={})


def test_shard_auto_with_kharness_shards(monkeypatch):
    assert parse_shard("auto", None, env={"JOB_COMPLETION_INDEX": "0",
                                           "KHARNESS_SHARDS": "4"}) == (1, 4)
    assert parse_shard("2/4", 4, env={}) == (2, 4)


def test_every_job_in_exactly_one_shard(capsys):
    code, out, _ = run(capsys, "matrix", DEFAULT, "--plan", "--shards", "3")
    d = json.loads(out)
    jobs = [j["job"] for s in d["shard_list"] for j in s["jobs"]]
    assert len(jobs) == len(set(jobs)) == 4 and d["shard_list"][0]["jobs"][0]["job"] == "baseline"
