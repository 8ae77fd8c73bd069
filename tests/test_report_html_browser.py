"""report.html in a real browser (Debian's chromium, headless; scripts/setup.sh
installs it): the DOM after the inline script ran (--dump-dom) and a screenshot,
on the recorded runs laid out as one matrix run (a baseline, a failing series job,
a test_progs job with a splat)."""
from __future__ import annotations

import json
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

import pytest

from results.report import render_html, write_outputs
from results.store import load_job

RUNS = Path(__file__).parent / "data" / "runs"
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (scripts/setup.sh installs "
                             "it as root with apt: apt-get install chromium)")


class Dom(HTMLParser):
    """What the tests read of a page: links, test rows, problem items, svg rects."""

    def __init__(self, text: str):
        super().__init__()
        self.links: list[str] = []
        self.rows: list[dict] = []
        self.problems: list[str] = []
        self.rects = 0
        self.grid_cells: list[str] = []
        self._li: list[str] | None = None
        self._grid = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "tr" and "test" in (a.get("class") or "").split():
            self.rows.append({"status": a.get("data-status"), "name": a.get("data-name"),
                              "hidden": "hidden" in a})
        if tag == "li" and self._li is None and a.get("class") in ("fail", "flaky", "xfail"):
            self._li = []
        if tag == "rect":
            self.rects += 1
        if tag == "table" and a.get("class") == "grid":
            self._grid = True
        if tag == "td" and self._grid:
            self.grid_cells.append(a.get("class") or "")

    def handle_endtag(self, tag):
        if tag == "li" and self._li is not None:
            self.problems.append(" ".join(" ".join(self._li).split()))
            self._li = None
        if tag == "table":
            self._grid = False

    def handle_data(self, data):
        if self._li is not None:
            self._li.append(data)


def _copy(src: str, dest: Path, **job) -> Path:
    shutil.copytree(RUNS / src, dest)
    if job:
        man = json.loads((dest / "manifest.json").read_text())
        man["job"].update(job)
        (dest / "manifest.json").write_text(json.dumps(man))
    return dest


@pytest.fixture
def run(tmp_path):
    """A matrix run dir: the v1 job as the baseline, v2 (release_ok fails) and the
    test_progs job (a parent failure, a subtest failure, a new splat)."""
    root = tmp_path / "20261127-matrix"
    base = _copy("fixture-v1", root / "base/debian-6.12/small-gcc-kharness-fixture",
                 series=None, rev=None)
    v2 = _copy("fixture-v2-upto3", root / "kharness-fixture/v2/small-gcc-kharness-fixture")
    tp = _copy("test_progs-parent-fail", root / "base/debian-6.12/bpf-gcc-test_progs")
    jobs = [load_job(p) for p in (base, v2, tp)]
    for j in jobs:
        write_outputs(j)
    (root / "report.html").write_text(render_html(jobs, f"kharness matrix {root.name}",
                                                  "table\n\nverdict: regressed"))
    return root


def _dom(page: Path, fragment: str = "", tmp: Path | None = None) -> str:
    out = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                          f"--user-data-dir={tmp or page.parent}/.chromium",
                          "--dump-dom", page.resolve().as_uri() + fragment],
                         capture_output=True, text=True, timeout=90, check=True)
    return out.stdout


def _resolves(page: Path, href: str) -> bool:
    return (page.parent / unquote(href.split("#")[0])).resolve().is_file()


def test_job_report_without_browser(run):
    """The static page (no script run): failure first, links resolve, identity."""
    page = run / "kharness-fixture/v2/small-gcc-kharness-fixture/report.html"
    html = page.read_text()
    dom = Dom(html)
    assert dom.rows[0] == {"status": "fail", "name": "kharness-fixture/release_ok",
                           "hidden": False}
    assert dom.problems[0].startswith("test fail kharness-fixture/release_ok log")
    assert "uname -r: 6.12.117-kharness-broken+" in dom.problems[0]
    files = [h for h in dom.links if not h.startswith("#")]
    assert files and all(_resolves(page, h) for h in files), files
    for want in ("suites/kharness-fixture/raw/001-kharness-fixture.log", "console.log",
                 "dmesg.txt", "build/build.log", "config/config-report.txt", "reproduce.sh"):
        assert want in files, want
    for ident in ("debian-6.12 at a6117fb1fea3", "kharness-fixture@v2: 3 patch(es)",
                  "small (+vm-min)", "6c901522a9223831", "gcc: gcc (Debian 12.2.0",
                  "x86_64", "TCG (QEMU emulator version 7.2.22"):
        assert ident in html, ident
    assert dom.rects == 6     # one bar per stage in the inline SVG timeline
    assert "<script src" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in html


def test_matrix_report_grid_and_links(run):
    page = run / "report.html"
    dom = Dom(page.read_text())
    files = [h for h in dom.links if not h.startswith("#")]
    assert all(_resolves(page, h) for h in files), [h for h in files if not _resolves(page, h)]
    assert "kharness-fixture/v2/small-gcc-kharness-fixture/console.log" in files
    assert "base/debian-6.12/bpf-gcc-test_progs/suites/test_progs/raw/003-d_path.log" in files
    html = page.read_text()
    assert "regressed<br><small>new failure: kharness-fixture/release_ok</small>" in html
    assert ">baseline</td>" in html
    # the job sections: the failing jobs before the passing baseline
    order = [html.index(f'<h2 id="job-{a}') for a in ("kharness-fixture-v2",
                                                        "base-debian-6-12-bpf-gcc-test_progs",
                                                        "kharness-fixture-v1")]
    assert order == sorted(order)
    # the test_progs job's problems: the parent failure, the subtest failure, the splat
    tp = html[html.index('id="job-base-debian-6-12-bpf-gcc-test_progs"'):]
    assert "test_progs/task_local_storage (failed on its own; its subtests passed)" in tp
    assert "new splat" in tp and "circular locking" in tp


@needs_chromium
def test_browser_dom_failure_first_and_filter(run, tmp_path):
    page = run / "kharness-fixture/v2/small-gcc-kharness-fixture/report.html"
    dom = Dom(_dom(page, tmp=tmp_path))
    assert [r["name"] for r in dom.rows][0] == "kharness-fixture/release_ok"
    assert not any(r["hidden"] for r in dom.rows)
    assert all(_resolves(page, h) for h in dom.links if not h.startswith("#"))
    # the inline script reads the fragment: only failing tests stay visible
    dom = Dom(_dom(page, "#status=bad", tmp=tmp_path))
    assert {r["name"]: r["hidden"] for r in dom.rows} == {
        "kharness-fixture/release_ok": False, "kharness-fixture/proc_version": True,
        "kharness-fixture/tmp_writable": True}
    dom = Dom(_dom(page, "#status=pass&q=tmp_", tmp=tmp_path))
    assert [r["name"] for r in dom.rows if not r["hidden"]] == ["kharness-fixture/tmp_writable"]
    assert "1 of 3 tests shown" in _dom(page, "#status=pass&q=tmp_", tmp=tmp_path)


@needs_chromium
def test_browser_matrix_filter_and_screenshot(run, tmp_path):
    page = run / "report.html"
    dom = Dom(_dom(page, "#status=bad", tmp=tmp_path))
    visible = sorted(r["name"] for r in dom.rows if not r["hidden"])
    assert visible == ["kharness-fixture/release_ok", "test_progs/d_path/basic",
                       "test_progs/task_local_storage"]
    assert all(r["hidden"] for r in dom.rows if r["status"] == "pass")
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={tmp_path}/.chromium", "--window-size=1200,1600",
                    f"--screenshot={shot}", page.resolve().as_uri()],
                   capture_output=True, timeout=90, check=True)
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_links_from_the_run_dir_of_one_series_revisions(tmp_path):
    """A revisions run (jobs of one series only, report in the run dir): links are
    relative to the run dir, found by the run id of the jobs' manifests."""
    run_dir = tmp_path / "20261127-revisions"
    for rev, src in (("v1", "fixture-v1"), ("v2", "fixture-v2-upto3")):
        d = _copy(src, run_dir / "kharness-fixture" / rev / "small-gcc-kharness-fixture")
        man = json.loads((d / "manifest.json").read_text())
        man["run_id"] = run_dir.name
        (d / "manifest.json").write_text(json.dumps(man))
    jobs = [load_job(p) for p in sorted(run_dir.glob("kharness-fixture/*/*"))]
    page = run_dir / "report.html"
    page.write_text(render_html(jobs, "kharness-fixture: revisions"))
    files = [h for h in Dom(page.read_text()).links if not h.startswith("#")]
    assert "kharness-fixture/v2/small-gcc-kharness-fixture/console.log" in files
    assert all(_resolves(page, h) for h in files)
