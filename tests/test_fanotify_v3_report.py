"""fanotify-bpf v3: the kernel test robot's sparse report on upstream v3 1/2
(202411260746.XEdTrLMj-lkp@intel.com) as a fixture, and the ports it is about.
repro reads the fixture whole, finds the v3-6.12 port by the patch's message-id and
builds only patch 1's objects; the fixture's lines are the port's defect lines, and
the NOT-upstream v3.1-6.12 follow-up changes exactly those."""
import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from repro.plan import make_plan
from repro.report import load_report

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "data" / "reports" / "fanotify-v3-sparse.txt"
SERIES = ROOT / "patches" / "series" / "fanotify-bpf"
FILTER_C = "fs/notify/fanotify/fanotify_filter.c"
FANOTIFY_C = "fs/notify/fanotify/fanotify.c"


def harness(*argv):
    return subprocess.run([sys.executable, str(ROOT / "harness.py"), *argv], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_parse_only_json_reads_every_line():
    res = harness("repro", "--parse-only", "--json", str(FIXTURE))
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)
    assert d["unparsed"] == []
    assert d["kind"] == "build" and d["message_id"] == "202411260746.XEdTrLMj-lkp@intel.com"
    assert d["patch_message_id"] == "20241122225958.1775625-2-song@kernel.org"
    assert d["config_name"] == "x86_64-randconfig-123-20241125"
    assert d["compiler"]["name"] == "gcc" and d["compiler"]["version"] == "12.2.0"
    assert d["w1"] and d["make_flags"] == [] and d["make_targets"] == []
    new = [(x["kind"], x["file"], x["line"], x["col"]) for x in d["diagnostics"] if x["new"]]
    assert new == [("sparse", FILTER_C, 269, 21), ("sparse", FANOTIFY_C, 1003, 63)]
    assert all("different address spaces" in x["message"] for x in d["diagnostics"])


def test_the_report_is_planned_on_patch_1_of_the_v3_port():
    """No patches of upstream v3 are here: its port v3-6.12 is used, up to patch 1
    (the report is on 1/2), building the two reported objects."""
    args = argparse.Namespace(arch=None, toolchain=None, series=None, config=None,
                              profile=None, suites=None)
    plan = make_plan(load_report(FIXTURE), args)
    assert (plan.series, plan.rev, plan.upto) == ("fanotify-bpf", "v3-6.12", 1)
    assert plan.targets == ["fs/notify/fanotify/fanotify_filter.o",
                            "fs/notify/fanotify/fanotify.o"]
    assert plan.make_flags == ["W=1"] and plan.compiler == "gcc"
    assert any("its port v3-6.12 is used" in s for s in plan.substitutions)


def new_file(patch: Path, path: str) -> list[str]:
    """The lines of a file a patch creates (every '+' line of its one hunk)."""
    text = patch.read_text().split(f"+++ b/{path}\n", 1)[1]
    out = []
    for line in text.splitlines()[1:]:
        if line.startswith("diff --git") or line == "-- ":
            break
        assert line.startswith("+"), line
        out.append(line[1:])
    return out


def patch_of(rev: str, n: int) -> Path:
    (p,) = sorted((SERIES / rev).glob(f"{n:04d}-*.patch"))
    return p


def test_the_reported_line_is_the_defect_in_the_v3_port():
    lines = new_file(patch_of("v3-6.12", 1), FILTER_C)
    assert lines[269 - 1] == "\tfilter_hook = group->fanotify_data.filter_hook;"
    # patch 1 is the same change in both revisions (only "[PATCH 1/3]" vs "1/4" differ)
    def diff(rev):
        return patch_of(rev, 1).read_text().split("\n---\n", 1)[1]
    assert diff("v3-6.12") == diff("v3.1-6.12")


def test_the_v3_1_follow_up_changes_the_two_reported_lines_and_says_not_upstream():
    fix = patch_of("v3.1-6.12", 4).read_text()
    removed = [ln[1:] for ln in fix.splitlines() if ln.startswith("-") and not ln.startswith("---")]
    assert "\tfilter_hook = group->fanotify_data.filter_hook;" in removed
    assert "\t\tfanotify_filter_hook_free(group->fanotify_data.filter_hook);" in removed
    assert "NOT posted upstream" in fix
    assert "NOT UPSTREAM" in (SERIES / "v3.1-6.12" / "0000-cover-letter.patch").read_text()
    assert sorted(p.name for p in (SERIES / "v3-6.12").glob("*.patch"))[1:] == \
        sorted(p.name for p in (SERIES / "v3.1-6.12").glob("*.patch"))[1:4]


def test_manifest_ties_the_ports_to_v3():
    res = harness("series", "show", "fanotify-bpf")
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "v3-6.12 (port): patches present 3/3" in out
    assert "follows upstream v3: https://lore.kernel.org/r/20241122225958.1775625-1-song@kernel.org" in out
    assert "v3.1-6.12 (local): patches present 4/4" in out and "follows v3-6.12" in out


def test_the_real_two_object_form_with_its_separator_is_read_whole():
    """The robot puts a `--` line between two objects' diagnostics, as the fixture does."""
    assert "--\n>> fs/notify/fanotify/fanotify.c:1003:63" in FIXTURE.read_text()
    report = FIXTURE
    res = harness("repro", "--parse-only", "--json", str(report))
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["unparsed"] == []
    assert [(d["file"], d["line"]) for d in doc["diagnostics"]] == [
        ("fs/notify/fanotify/fanotify_filter.c", 269), ("fs/notify/fanotify/fanotify.c", 1003)]
