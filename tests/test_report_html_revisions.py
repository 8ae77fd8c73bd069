"""`harness.py revisions SERIES` writes report.html with the revision x test grid
coloured by verdict and the range-diff between neighbouring revisions (collapsible,
inline). Driven through harness.main on the recorded runs of kharness-fixture v1
and v2 (the jobs are not run again: run_job gives back the recorded results, laid
out where the run would write them) and the recorded `harness.py diff
kharness-fixture v1 v2`; checked in Debian's chromium (headless): the DOM after the
page loaded, and a screenshot."""
from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest

import harness
from results.html_revisions import classify_line, range_diff_view, split_range_diffs
from results.store import load_job

DATA = Path(__file__).parent / "data"
RUNS = DATA / "runs"
RANGE_DIFF = DATA / "rangediff" / "kharness-fixture-v1-v2.txt"
CHANGED = DATA / "rangediff" / "iter-pagecache-rfc-6.12-v2-6.12.txt"
RECORDED = {"v1": "fixture-v1", "v2": "fixture-v2-upto3"}
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs it)")


class RevDom(HTMLParser):
    """The revision x test grid's cells and the range-diff blocks of a page."""

    def __init__(self, text: str):
        super().__init__()
        self.heads: list[str] = []
        self.cells: list[dict] = []
        self.diffs: list[dict] = []
        self._grid = self._th = False
        self._row: list = []
        self._diff: dict | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "table" and "revgrid" in cls:
            self._grid = True
        if self._grid and tag == "tr":
            self._row = []
        if self._grid and tag == "th":
            self._th = True
        if self._grid and tag == "td" and "rv" in cls:
            self.cells.append({"cls": cls, "verdict": a.get("data-verdict"), "row": self._row})
        if tag == "details" and "range-diff" in cls:
            self._diff = {"old": a.get("data-old"), "new": a.get("data-new"),
                          "open": "open" in a, "spans": []}
            self.diffs.append(self._diff)
        if tag == "span" and self._diff is not None:
            self._diff["spans"].append(a.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "table":
            self._grid = False
        if tag == "th":
            self._th = False
        if tag == "details":
            self._diff = None

    def handle_data(self, data):
        if self._grid and self._th and data.strip():
            self.heads.append(data.strip())
        elif self._grid and not self._row and data.strip():
            self._row.append(data.strip())      # the row's first cell: the test


@pytest.fixture
def revisions_run(tmp_path, monkeypatch):
    """`harness.py revisions kharness-fixture --results DIR`, its jobs answered by the
    recorded runs and its range-diff by the recorded one. Returns the report."""
    import bisection.revisions
    import patches.rangediff
    import pipeline.run

    def run_job(spec, stages, runner, progress, root, run_id=None, **kw):
        dest = Path(root) / run_id / spec.series / spec.rev / "small-gcc-kharness-fixture"
        shutil.copytree(RUNS / RECORDED[spec.rev], dest)
        man = json.loads((dest / "manifest.json").read_text())
        man["run_id"] = run_id
        (dest / "manifest.json").write_text(json.dumps(man))
        return SimpleNamespace(summary=load_job(dest), spec=spec)

    asked = []

    def range_diff(req, runner):
        asked.append((req.old, req.new) if hasattr(req, "old") else req)
        return SimpleNamespace(text=RANGE_DIFF.read_text())
    monkeypatch.setattr(pipeline.run, "run_job", run_job)
    monkeypatch.setattr(bisection.revisions, "revisions_with_patches", lambda s: ["v1", "v2"])
    monkeypatch.setattr(patches.rangediff, "range_diff", range_diff)
    code = harness.main(["revisions", "kharness-fixture", "--profile", "small",
                         "--suite", "kharness-fixture", "--results", str(tmp_path / "runs")])
    assert code == 1                                   # v2 fails release_ok
    assert len(asked) == 1
    (page,) = (tmp_path / "runs").glob("*/report.html")
    return page


def test_revisions_report_grid_by_verdict_and_range_diff(revisions_run):
    dom = RevDom(revisions_run.read_text())
    assert dom.heads[:3] == ["test", "v1", "v2"]
    first = [c for c in dom.cells if c["row"] == ["kharness-fixture/release_ok"]]
    assert [(c["verdict"], c["cls"]) for c in first] == [("pass", ["rv", "pass"]),
                                                           ("fail", ["rv", "fail"])]
    assert all(c["verdict"] in c["cls"] for c in dom.cells)   # each cell has its verdict's class
    assert len(dom.cells) == 6                        # 3 tests x 2 revisions
    (d,) = dom.diffs
    assert (d["old"], d["new"], d["open"]) == ("v1", "v2", True)
    assert d["spans"] == ["rd-same", "rd-same", "rd-added"]
    assert "http" not in revisions_run.read_text().split("<body>")[0]   # nothing from a network


def test_range_diff_lines_classified_on_a_real_changed_patch():
    """A range-diff with a changed patch (iter-pagecache rfc-6.12 -> v2-6.12, as
    `harness.py diff` printed it): pair marks and the diff of diffs' signs."""
    text = CHANGED.read_text()
    (part,) = split_range_diffs("=== range-diff rfc-6.12..v2-6.12\n" + text)
    view = range_diff_view(part)
    assert view["summary"] == "2 changed, 1 added"
    classes = [c for c, _ in view["lines"]]
    assert classes[0] == "rd-added" and classes[1] == "rd-changed"
    assert classify_line("    -    bpf: Introduce iter_pagecache") == "rd-old"
    assert classify_line("    +    bpf: add a page cache iterator") == "rd-new"
    assert classify_line("     Author: kharness port") == ""
    assert classes.count("rd-old") > 10 and classes.count("rd-new") > 10


def _chromium(tmp: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={tmp}/.chromium", *args],
                          capture_output=True, text=True, timeout=90, check=True)


@needs_chromium
def test_revisions_report_in_the_browser_and_screenshot(revisions_run, tmp_path):
    """After chromium loaded the page: the grid's cells carry their verdict classes,
    a range-diff block per neighbour pair, the job links resolve; a screenshot
    (docs/revisions-screenshot.png is this one, refreshed with KHARNESS_SHOT=1)."""
    page = revisions_run
    dom = RevDom(_chromium(tmp_path, "--dump-dom", page.resolve().as_uri()).stdout)
    assert [(c["row"][0], c["verdict"]) for c in dom.cells[:2]] == [
        ("kharness-fixture/release_ok", "pass"), ("kharness-fixture/release_ok", "fail")]
    assert all(c["verdict"] in c["cls"] for c in dom.cells)
    assert [(d["old"], d["new"]) for d in dom.diffs] == [("v1", "v2")]
    shot = tmp_path / "revisions.png"
    _chromium(tmp_path, "--hide-scrollbars", "--window-size=1100,900", f"--screenshot={shot}",
              page.resolve().as_uri())
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    import os
    if os.environ.get("KHARNESS_SHOT"):
        shutil.copy(shot, Path(__file__).parent.parent / "docs" / "revisions-screenshot.png")
