import pytest

from common.errors import InputError, UsageError
from common.yamlfile import load_yaml
from pipeline.check import JobPlan
from pipeline.matrix import load_matrix
from pipeline.plan import parse_shard, shards


def write(tmp_path, text):
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return p


def test_matrix_defaults_and_series_split(tmp_path):
    p = write(tmp_path, """
defaults:
  profile: small
  suites: [smoke]
jobs:
  - name: baseline
    base: true
  - series: path-iterator@v5.1-6.12
    suites: [path-iterator, smoke]
  - series: fanotify-bpf
""")
    jobs = load_matrix(p)
    assert [j.base_only for j in jobs] == [True, False, False]
    assert (jobs[1].series, jobs[1].rev, jobs[1].suites) == \
        ("path-iterator", "v5.1-6.12", ["path-iterator", "smoke"])
    assert jobs[2].rev is None and jobs[2].profile == "small" and jobs[2].suites == ["smoke"]


@pytest.mark.parametrize("text,line,msg", [
    ("jobs:\n  - series: a@v1\n    colour: red\n", 3, "unknown job key 'colour'"),
    ("jobs:\n  - name: x\n", 2, "exactly one of"),
    ("jobs:\n  - base: true\n    series: a@v1\n", 2, "exactly one of"),
    ("jobs:\n  - series: a@v1\n    suites: smoke\n", 3, "must be a list"),
    ("jobs:\n  - series: a@v1\n  - series: a@v1\n", 3, "duplicate job"),
    ("jobs: []\n", 1, "non-empty"),
    ("jobs:\n  - series: a@v1\n  bad: [\n", 3, "YAML syntax error"),
    ("jobs:\n  - series: a\n    series: b\n", 3, "duplicate key"),
])
def test_matrix_errors_name_file_and_line(tmp_path, text, line, msg):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as e:
        load_matrix(p)
    assert msg in str(e.value)
    assert e.value.path == str(p) and e.value.line == line


def test_shards_cover_every_job_exactly_once(tmp_path):
    jobs = load_matrix(write(tmp_path, "jobs:\n" + "".join(
        f"  - series: s{i}@v1\n" for i in range(7))))
    parts = shards([JobPlan(j) for j in jobs], 3)
    seen = [p.spec.series for s in parts for p in s.jobs]
    assert sorted(seen) == sorted(j.series for j in jobs)
    assert [p.spec.series for p in parts[0].jobs] == ["s0", "s3", "s6"]


@pytest.mark.parametrize("bad", ["0/2", "3/2", "x", "1-2"])
def test_bad_shard(bad):
    with pytest.raises(UsageError):
        parse_shard(bad, None)


def test_yaml_empty_file(tmp_path):
    p = write(tmp_path, "")
    with pytest.raises(InputError, match="empty YAML"):
        load_yaml(p)


def test_yaml_bad_scalar_names_line(tmp_path):
    p = write(tmp_path, "a: 1\ndate: 2025-13-01\n")
    with pytest.raises(InputError) as e:
        load_yaml(p)
    assert e.value.line == 2 and "2025-13-01" in str(e.value)
