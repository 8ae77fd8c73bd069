"""junit.xml and report.html stay well-formed whatever the guest printed: NUL, ESC,
other C0 controls and lone surrogates in test names and logs are written as
`\\xNN` / `\\uNNNN`, through `harness.py run` and `harness.py report`."""
import re
import xml.etree.ElementTree as ET

import pytest

import harness
from pipeline.context import StageReport
from selftests.run import parse_group_log

LOG = ("KTAP version 1\n1..3\nok 1 bad\x00name\x1b \x7f\x01 # SKIP \x02why\n"
       "# before\x00nul \x1b[31mred\x1b[0m \udc80 \x0b\x0c\nnot ok 2 second\x03\nok 3 fine\n")
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@pytest.fixture
def job_dir(tmp_path, monkeypatch):
    import pipeline.stages
    results = tmp_path / "results"
    monkeypatch.setenv("HARNESS_RESULTS", str(results))

    def test_stage(ctx):
        ctx.store.add_suite("smoke", parse_group_log("ktap", LOG.splitlines()))
        return StageReport()
    monkeypatch.setattr(pipeline.stages, "STAGES", [("test", test_stage)])
    code = harness.main(["run", "--base-only", "--profile", "small", "--results", str(results)])
    assert code == 1
    return next(results.rglob("summary.json")).parent


def test_junit_xml_parses_and_keeps_the_bad_characters_visible(job_dir):
    root = ET.parse(job_dir / "junit.xml").getroot()
    names = [c.get("name") for c in root.iter("testcase")]
    assert "bad\\x00name\\x1b \x7f\\x01" in names and "second\\x03" in names
    assert [s.get("message") for s in root.iter("skipped")] == ["\\x02why"]
    text = "".join(e.text or "" for e in root.iter())
    assert "\\x1b[31mred" in text and "\\udc80" in text


def test_report_html_has_no_character_xml_cannot_hold(job_dir, capsys):
    assert harness.main(["report", str(job_dir)]) == 0
    html = (job_dir / "report.html").read_text(encoding="utf-8")
    assert not NOT_XML.search(html)
    assert "bad\\x00name" in html
