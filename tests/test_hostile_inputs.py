"""Hostile inputs that used to end in a traceback are input errors (exit 2) naming
the file: a summary.json of valid JSON but the wrong shape (`report`, `compare`,
`merge`: not exit 1, which `compare` would read as "B regressed"), a non-UTF-8
fragment, and a robot report in a MIME charset Python does not know."""
import json
from pathlib import Path

import pytest

import harness
from common.errors import InputError
from configs.fragment import load_fragment

REPORTS = Path(__file__).parent / "data" / "reports"
GOOD = {"job": "j", "state": "complete", "exit_code": 0, "stages": [],
        "suites": [{"name": "smoke", "parsed": {"format": "ktap", "tests": [
            {"name": "a", "status": "pass"}]}}]}


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


def job_dir(root: Path, doc) -> Path:
    root.mkdir(parents=True)
    (root / "summary.json").write_text(json.dumps(doc))
    return root


def bad(**change):
    doc = json.loads(json.dumps(GOOD))
    for k, v in change.items():
        if k == "test":
            doc["suites"][0]["parsed"]["tests"][0].update(v)
        else:
            doc[k] = v
    return doc


WRONG = {
    "list": [1, 2],
    "suites-dict": bad(suites={"a": 1}),
    "stages-str": bad(stages=["x"]),
    "status": bad(test={"status": "great"}),
    "name-int": bad(test={"name": 5}),
    "log-str-items": bad(test={"log": [1, 2]}),
    "duration": bad(test={"duration": "long"}),
    "subtests": bad(test={"subtests": 7}),
    "exit-code": bad(exit_code="zero"),
}


@pytest.mark.parametrize("doc", WRONG.values(), ids=WRONG.keys())
def test_report_compare_merge_refuse_a_summary_of_the_wrong_shape(tmp_path, capsys, doc):
    good = job_dir(tmp_path / "a" / "job", GOOD)
    wrong = job_dir(tmp_path / "b" / "job", doc)
    assert harness.main(["report", str(wrong)]) == 2
    assert harness.main(["compare", str(good.parent), str(wrong.parent)]) == 2
    assert harness.main(["merge", str(wrong.parent), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert err.count(str(wrong / "summary.json")) == 3 and "wrong shape" in err


def test_a_good_summary_still_reports(tmp_path, capsys):
    good = job_dir(tmp_path / "a" / "job", GOOD)
    assert harness.main(["report", str(good)]) == 0


def test_a_non_utf8_fragment_is_an_input_error(tmp_path):
    f = tmp_path / "bad.config"
    f.write_bytes(b"CONFIG_X=y\n# caf\xe9\n")
    with pytest.raises(InputError) as e:
        load_fragment(f, {})
    assert "not UTF-8" in str(e.value) and str(f) in str(e.value)


def test_a_report_in_an_unknown_charset_still_parses(tmp_path, capsys):
    text = (REPORTS / "fanotify-v2-gcc-w1.mbox").read_text()
    odd = tmp_path / "odd.mbox"
    odd.write_bytes(text.replace("charset=us-ascii", "charset=x-unknown-8bit", 1)
                    .encode().replace(b"Hi Song,", b"Hi Song \xff,"))
    assert harness.main(["repro", str(odd), "--parse-only"]) == 0
    assert "fs/notify/fanotify/fanotify_fastpath.c" in capsys.readouterr().out
