"""Unit tests of the bench's maths, formats and parsers (no kernel, no VM)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.buildlog import (Recompile, compiled_objects, parse_ccache_stats,
                            rangediff_files, source_objects)
from bench.coldcache import stats_delta
from bench.m_bisect import parse_bisect_output, step_count
from bench.machine import accel_of, cpu_model, meminfo_gib
from bench.report import check_doc, markdown, results_doc, verdict_lines
from bench.run import parse_only
from bench.stats import (Figure, Target, bisect_steps, failed, figure_order, fmt_value,
                         median, ratio, skipped, spread)
from bench import synth
from common.errors import InputError, UsageError
from results.ktap import parse_ktap
from results.test_progs import parse_test_progs

DATA = Path(__file__).parent / "data"


# ---- maths ------------------------------------------------------------------------

def test_ratio_median_spread():
    assert ratio(3.0, 2.0) == 1.5
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([1.0, 2.0, 3.0, 10.0]) == 2.5
    assert spread([1.02, 0.98, 1.5]) == (0.98, 1.5)


@pytest.mark.parametrize("bad", [0.0, -1.0])
def test_ratio_over_nothing_is_an_error(bad):
    with pytest.raises(UsageError):
        ratio(1.0, bad)


def test_median_and_spread_of_nothing_are_errors():
    with pytest.raises(UsageError):
        median([])
    with pytest.raises(UsageError):
        spread([])


@pytest.mark.parametrize("n,steps", [(1, 1), (2, 2), (4, 3), (5, 4), (8, 4), (9, 5)])
def test_bisect_steps(n, steps):
    assert bisect_steps(n) == steps


def test_bisect_steps_needs_a_candidate():
    with pytest.raises(UsageError):
        bisect_steps(0)


# ---- targets and verdicts ---------------------------------------------------------

def test_target_met_and_missed():
    t = Target("<=", 1.03)
    assert t.met(1.03) and t.met(0.5) and not t.met(1.031)
    assert Target(">=", 2).met(2) and not Target(">=", 2).met(1.9)
    with pytest.raises(UsageError):
        Target("<", 1).met(0)


def test_figure_met():
    f = Figure("1", "overhead", samples=[1.01, 1.02, 0.99], target=Target("<=", 1.03))
    assert f.value == 1.01 and f.range == (0.99, 1.02)
    assert f.met is True and f.verdict() == "met"


def test_figure_missed_is_printed_as_missed():
    f = Figure("3", "second series", samples=[0.6], target=Target("<=", 0.25))
    assert f.met is False
    assert f.verdict() == "MISSED"
    assert f.to_dict()["verdict"] == "MISSED" and f.to_dict()["met"] is False


def test_figure_without_target_and_absolute():
    assert Figure("2", "rerun", samples=[0.2]).verdict() == "no target"
    assert Figure("7a", "parse", samples=[0.9], unit="s").verdict() == "absolute (no target)"


def test_skipped_and_failed_figures_have_no_value():
    s = skipped("6a", "parallel", "no cached bpf build", Target("<=", 1))
    assert s.value is None and s.met is None
    assert s.verdict() == "SKIPPED: no cached bpf build"
    f = failed("5", "bisect", "exit 7")
    assert f.verdict() == "FAILED: exit 7" and f.to_dict()["median"] is None


def test_fmt_value():
    assert fmt_value(1.23456, "ratio") == "1.235"
    assert fmt_value(0.913, "s") == "0.913 s"
    assert fmt_value(None, "ratio") == "-"


# ---- results.json and the table ---------------------------------------------------

MACHINE = {"cores": 2, "memory_gib": 23.5, "accel": "tcg", "reason": "probe", "cpu": "X",
           "git_commit": "0123456789abcdef"}


def _doc():
    figs = [Figure("1", "overhead", samples=[1.0, 1.01, 1.02], target=Target("<=", 1.03),
                   what="a / b", raw={"run_s": [1, 2, 3]}),
            Figure("3", "second series", samples=[0.6], target=Target("<=", 0.25),
                   notes=["cold: emptied"]),
            skipped("6a", "parallel", "no cached build")]
    return results_doc(figs, dict(MACHINE), "2026-11-23 10:00 UTC", {"only": [1, 3, 6]},
                       [{"step": "x", "seconds": 1.0, "ok": True}], "cold: all removed")


def test_results_doc_schema_round_trips_through_json():
    doc = json.loads(json.dumps(_doc()))
    check_doc(doc)
    f1 = doc["figures"][0]
    assert f1["median"] == 1.01 and f1["spread"] == [1.0, 1.02] and f1["n"] == 3
    assert f1["target"] == {"op": "<=", "value": 1.03} and f1["raw"] == {"run_s": [1, 2, 3]}


@pytest.mark.parametrize("breaks,msg", [
    (lambda d: d.pop("machine"), "missing keys: machine"),
    (lambda d: d["machine"].pop("accel"), "machine lacks accel"),
    (lambda d: d["figures"][0].pop("samples"), "figure 0 lacks samples"),
    (lambda d: d["figures"][0].update(status="maybe"), "unknown status"),
    (lambda d: d["figures"][0].update(samples=[]), "measured but no samples"),
    (lambda d: d.update(schema=99), "schema 99"),
])
def test_check_doc_names_the_problem(breaks, msg):
    doc = _doc()
    breaks(doc)
    with pytest.raises(InputError, match=msg) as e:
        check_doc(doc, "bench/results.json")
    assert "bench/results.json" in str(e.value)


def test_markdown_table():
    md = markdown(_doc())
    lines = md.splitlines()
    assert lines[0].startswith("Benchmark of 2026-11-23 10:00 UTC on 2 cores, 23.5 GiB, "
                               "VMs under TCG (X), harness commit 0123456789ab")
    rows = [ln for ln in lines if ln.startswith("| ")]
    assert rows[0].startswith("| # | measurement | figure (median) |")
    assert rows[1] == ("| 1 | overhead | 1.010 | 1..1.02 (n=3) | <= 1.03 | met | a / b |")
    assert "| 3 | second series | 0.600 | n=1 | <= 0.25 | MISSED | ; cold: emptied |" in md
    assert "| 6a | parallel | - | - | - | SKIPPED: no cached build |" in md
    assert lines[-1] == "Cold: cold: all removed"


def test_markdown_marks_an_incomplete_run():
    doc = _doc()
    assert "INCOMPLETE" not in markdown(doc)
    doc["complete"] = False
    assert "INCOMPLETE: written while the bench ran" in markdown(doc).splitlines()[0]


def test_markdown_escapes_pipes():
    doc = _doc()
    doc["figures"][0]["what"] = "a | b"
    assert "a \\| b" in markdown(doc)


def test_figures_sort_by_number_then_letter():
    ids = ["10", "3b", "2", "3a", "11", "1", "9", "6b", "6a", "7d"]
    assert sorted(ids, key=figure_order) == ["1", "2", "3a", "3b", "6a", "6b", "7d", "9",
                                             "10", "11"]


def test_a_figures_own_tables_follow_the_main_table():
    doc = _doc()
    doc["figures"][1]["raw"]["tables"] = [{"title": "per-job stages", "markdown": "| a |"}]
    lines = markdown(doc).splitlines()
    at = lines.index("Figure 3, per-job stages:")
    assert lines[at - 2].startswith("Cold: ") and lines[at + 2] == "| a |"


@pytest.mark.parametrize("name", ["results.json", "results-m5.json", "results-run2.json"])
def test_results_files_of_older_benches_still_read_and_render(name):
    doc = json.loads((Path(__file__).parent.parent / "bench" / name).read_text())
    check_doc(doc, name)
    md = markdown(doc)
    ids = [f["id"] for f in doc["figures"]]
    assert all(f"| {i} |" in md for i in ids) and "per-job stages" not in md


@pytest.mark.parametrize("name, ids", [
    ("results-2026-11-27-cold.json", ["10", "11"]),        # failed: exit 7
    ("results-2026-11-27-cached.json", ["11"]),
    ("results-2026-11-27-3ab.json", ["3a", "3b"]),
    ("results-2026-11-27-maketest.json", ["10", "11"]),       # complete: both met
    ("results-2026-11-27-cached-guard.json", ["11"])])
def test_the_issue_21_runs_read_and_render(name, ids):
    doc = json.loads((Path(__file__).parent.parent / "bench" / name).read_text())
    check_doc(doc, name)
    assert [f["id"] for f in doc["figures"]] == ids
    md = markdown(doc)
    assert all(f"| {i} |" in md for i in ids)


def test_verdict_lines():
    lines = verdict_lines(_doc())
    assert lines[1] == "  3  second series: 0.600  [MISSED]"


# ---- build logs, range-diffs, ccache ----------------------------------------------

def test_compiled_objects_from_a_recorded_build_log():
    lines = (DATA / "buildlogs" / "gcc-w1-sparse.log").read_text().splitlines()
    assert compiled_objects(lines) == ["fs/namei.o", "fs/inode.o", "kernel/fork.o",
                                       "drivers/misc/fixture.o"]


def test_compiled_objects_counts_each_once_and_only_c_objects():
    lines = ["  CC      fs/namei.o", "  CC      fs/namei.o", "  HOSTCC  scripts/x.o",
             "  CC      scripts/mod/devicetable-offsets.s", "  AS      arch/x86/a.o",
             "  LD      vmlinux.o", "  CC [M]  m.o"]
    assert compiled_objects(lines) == ["fs/namei.o", "m.o"]


RANGE_DIFF = """\
1:  1111111 ! 1:  2222222 namei: Introduce new helper function path_walk_parent()
    @@ Metadata
      ## Commit message ##
    -    old text
    +    new text
    @@ fs/namei.c: static struct dentry *follow_dotdot(struct nameidata *nd)
    + ## include/linux/namei.h ##
      ## fs/namei.c ##
2:  3333333 = 2:  4444444 landlock: Use path_walk_parent()
-:  ------- > 3:  5555555 bpf: Introduce path iterator
"""


def test_rangediff_files():
    assert rangediff_files(RANGE_DIFF) == ["include/linux/namei.h", "fs/namei.c"]


def test_source_objects():
    files = ["fs/namei.c", "include/linux/namei.h", "tools/testing/selftests/bpf/a.c",
             "security/landlock/fs.c"]
    assert source_objects(files) == ["fs/namei.o", "security/landlock/fs.o"]


def test_ccache_stats_and_delta():
    text = "cache_miss\t10\ndirect_cache_hit\t5\npreprocessed_cache_hit\t1\nstats_updated_timestamp\t0\nbad line\n"
    before = parse_ccache_stats(text)
    assert before["cache_miss"] == 10 and "bad line" not in before
    after = parse_ccache_stats("cache_miss\t12\ndirect_cache_hit\t105\npreprocessed_cache_hit\t1\n")
    assert stats_delta(before, after) == {"cache_miss": 2, "direct_cache_hit": 100,
                                          "preprocessed_cache_hit": 0}


def test_recompile_summary_and_stale_objects():
    rec = Recompile(["fs/namei.o", "fs/inode.o"],
                    ["fs/namei.c", "fs/bpf_fs_kfuncs.c", "include/linux/namei.h"],
                    ["fs/namei.c"], {"cache_miss": 3, "direct_cache_hit": 40,
                                     "preprocessed_cache_hit": 2})
    assert rec.stale == ["fs/bpf_fs_kfuncs.o"]
    assert rec.real_compiles == 3 and rec.cache_hits == 42
    s = rec.summary()
    assert s.startswith("2 objects compiled by make (CC lines); 3 real compiles")
    assert "3 files changed between the revisions (2 C files)" in s
    d = rec.to_dict()
    assert d["cc_objects"] == 2 and d["not_recompiled"] == ["fs/bpf_fs_kfuncs.o"]
    assert Recompile([], []).real_compiles is None


# ---- synthetic logs ---------------------------------------------------------------

def test_synthetic_test_progs_log_parses_whole():
    lines = synth.test_progs_log(2000)
    assert 1900 < len(lines) <= 2000
    parsed = parse_test_progs(lines)
    assert parsed.complete
    tops = [t.number for t in parsed.tests]
    assert len(tops) == len(set(tops))        # renumbered: every test once
    assert not any("the Summary says" in n for n in parsed.notes)


def test_synthetic_ktap_log_parses_whole():
    lines = synth.ktap_log(1000)
    assert 900 < len(lines) <= 1000
    plan = int(lines[1].split("..")[1])
    parsed = parse_ktap(lines)
    assert parsed.complete and len(parsed.tests) == plan
    assert [t.number for t in parsed.tests] == list(range(1, plan + 1))


def test_synthetic_log_from_a_file_without_results_is_an_input_error(tmp_path):
    bad = tmp_path / "x.log"
    bad.write_text("nothing here\n")
    with pytest.raises(InputError, match="x.log"):
        synth.test_progs_log(100, bad)
    with pytest.raises(InputError, match="x.log"):
        synth.ktap_log(100, bad)


# ---- options, bisect output, machine ----------------------------------------------

def test_parse_only():
    assert parse_only("7,1") == (1, 7)
    assert parse_only("3, 3,2") == (2, 3)
    assert parse_only("9") == (9,)
    assert parse_only("11,10,3") == (3, 10, 11)
    for bad in ("12", "x", "", "0,1"):
        with pytest.raises(UsageError):
            parse_only(bad)


BISECT_OUT = """\
bisect path-iterator@v5-6.12 patches 0..5 criterion warning:__path_walk_parent
step 5 (5 patches: selftests/bpf: Add tests): bad fail:runs 1:1 build 0.4s - fs/namei.c:2002: warning
step 0 (0 patches: base): good fail:runs 0:1 build 80.0s - no matching warning

bisect over the patches of path-iterator@v5-6.12: found
first bad candidate: 1
first bad: 1 patches: namei: Introduce new helper function path_walk_parent()
evidence: w (fail:runs 1:1)
steps: 4
  5 patches: selftests/bpf: Add tests: bad fail:runs 1:1 (build 0.4s)
  0 patches: base: good fail:runs 0:1 (build 80.0s)
  3 patches: bpf: Introduce path iterator: bad fail:runs 1:1 (build 20.0s)
  1 patches: namei: Introduce new helper function path_walk_parent(): bad fail:runs 1:1 (build 9.0s)
bisect log: results/x-bisect/bisect.log
"""


def test_parse_bisect_output():
    out = parse_bisect_output(BISECT_OUT)
    assert out.visited == [5, 0, 3, 1]
    assert out.first_bad.startswith("1 patches: namei:")
    assert out.steps == 4


def test_parse_bisect_output_without_result():
    from common.errors import InfraError
    with pytest.raises(InfraError):
        parse_bisect_output("step 5 (5 patches: x): skip\n")


def test_step_count_prefers_a_count_the_bisect_did_not_build():
    assert step_count([5, 0, 3, 1]) == (4, False)
    assert step_count([5, 0, 4, 3, 2, 1]) == (1, True)


def test_machine_facts():
    assert meminfo_gib("MemTotal:       24641536 kB\nMemFree: 1 kB\n") == 23.5
    assert meminfo_gib("") is None
    assert cpu_model("processor: 0\nmodel name\t: AMD EPYC\n") == "AMD EPYC"

    class J:
        def __init__(self, a, why):
            self.a, self.why = a, why

        def accel(self):
            return self.a, self.why
    assert accel_of([J("tcg", "KVM probe failed"), J(None, None), J("tcg", "again")]) == {
        "accel": "tcg", "reason": "tcg: KVM probe failed"}
    assert accel_of([])["accel"] is None


# What `harness.py bisect` printed to the bench (no TTY, so no live step lines):
# the end of bench/out/logs/12-bisect.log of the 2026-11-23 17:02 run.
BISECT_SUMMARY_ONLY = """\
bisect over the patches of path-iterator@v5-6.12: found
first bad candidate: 2
first bad: 2 patches: landlock: Use path_walk_parent()
evidence:    fs/namei.c:2002: warning: Function parameter or struct member 'path' not described in '__path_walk_parent' (fail:runs 1:1)
steps: 4
  5 patches: selftests/bpf: Path walk example: bad fail:runs 1:1 (build 0.1s)
  0 patches: base: good fail:runs 0:1 (build 29.2s)
  2 patches: landlock: Use path_walk_parent(): bad fail:runs 1:1 (build 24.7s)
  1 patches: namei: Introduce new helper function path_walk_parent(): good fail:runs 0:1 (build 19.6s)
bisect log: /work/main/bench/out/results/20261123-165420-bisect/bisect.log
"""


def test_parse_bisect_output_reads_the_summary_steps():
    out = parse_bisect_output(BISECT_SUMMARY_ONLY)
    assert out.visited == [5, 0, 2, 1]
    assert out.steps == 4
    assert step_count(out.visited) == (4, False)
