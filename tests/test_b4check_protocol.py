"""harness.py b4-check, driven through b4's own check-command runner
(b4.review.checks.run_series_checks / run_perpatch_checks, b4 pinned from PyPI), on
the recorded runs: a fixture series given message-ids, its recorded jobs and a
baseline made from the v1 job."""
from __future__ import annotations

import email
import email.policy
import json
import shutil
import sys
from pathlib import Path

import pytest
from b4.review import checks as b4checks

from results.model import Status
from results.store import load_job
from review.b4check import Found, check, judge, parse_message

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path(__file__).parent / "data" / "runs"
SERIES = "b4-fixture"
COVER = {"v1": "b4-fixture-v1-0@kharness.invalid", "v2": "b4-fixture-v2-0@kharness.invalid",
         "v3": "b4-fixture-v3-0@kharness.invalid"}
MATRIX = """\
defaults: {tree: debian-6.12, profile: small, toolchain: gcc}
jobs:
  - name: baseline
    base: true
    suites: [kharness-fixture]
  - series: b4-fixture
    suites: [kharness-fixture]
"""


def _series(cache: Path) -> Path:
    """The fixture series as a posting: each revision with a message_id."""
    src = ROOT / "patches" / "series" / "kharness-fixture"
    dest = cache / "series" / SERIES
    shutil.copytree(src, dest)
    text = (dest / "series.yaml").read_text().replace("name: kharness-fixture",
                                                      f"name: {SERIES}")
    for rev, mid in COVER.items():
        text = text.replace(f"  - version: {rev}\n", f"  - version: {rev}\n    message_id: {mid}\n")
    (dest / "series.yaml").write_text(text)
    return dest


def _job(src: str, dest: Path, **job) -> None:
    shutil.copytree(RUNS / src, dest)
    man = json.loads((dest / "manifest.json").read_text())
    man["job"].update(job)
    (dest / "manifest.json").write_text(json.dumps(man))
    summ = json.loads((dest / "summary.json").read_text())
    parts = dest.parts
    summ["job"] = "/".join(parts[parts.index("results") + 2:])
    (dest / "summary.json").write_text(json.dumps(summ))


@pytest.fixture
def setup(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    _series(cache)
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    results = tmp_path / "results"
    # the baseline: the v1 job's results as the base tree's job (all 3 tests pass)
    _job("fixture-v1", results / "r0" / "base" / "debian-6.12" / "small-gcc-kharness-fixture",
         series=None, rev=None)
    _job("fixture-v1", results / "r1" / SERIES / "v1" / "small-gcc-kharness-fixture",
         series=SERIES)
    # v2 with all 3 patches (recorded as --upto 3, the whole revision)
    _job("fixture-v2-upto3", results / "r2" / SERIES / "v2" / "small-gcc-kharness-fixture",
         series=SERIES, upto=None)
    matrix = tmp_path / "matrix.yaml"
    matrix.write_text(MATRIX)
    return {"results": results, "matrix": matrix}


def _mail(msgid: str, subject: str, reply_to: str | None = None) -> email.message.EmailMessage:
    msg = email.message.EmailMessage(policy=email.policy.default)
    msg["From"] = "kharness fixture <fixture@kharness.invalid>"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{msgid}>"
    if reply_to:
        msg["In-Reply-To"] = f"<{reply_to}>"
        msg["References"] = f"<{reply_to}>"
    msg.set_content("body\n")
    return msg


def _cmd(setup, *extra: str) -> str:
    return " ".join([sys.executable, str(ROOT / "harness.py"), "b4-check", "--matrix",
                     str(setup["matrix"]), "--results", str(setup["results"]), *extra])


def _b4_series(setup, msg) -> list[dict]:
    return b4checks.run_series_checks((msg["Message-ID"].strip("<>"), msg),
                                      [_cmd(setup, "--series-level")], str(ROOT))


def _b4_patch(setup, msg) -> list[dict]:
    mid = msg["Message-ID"].strip("<>")
    return b4checks.run_perpatch_checks([(mid, msg)], [_cmd(setup)], str(ROOT))[mid]


def _check_format(results: list[dict]) -> None:
    """b4's documented fields: tool and status (pass|warn|fail) required; summary,
    url, details strings."""
    assert results
    for r in results:
        assert r["tool"] == "kharness"
        assert r["status"] in ("pass", "warn", "fail")
        assert all(isinstance(r[k], str) for k in ("summary", "url", "details"))
        assert "\n" not in r["summary"]


def test_series_regression_fails_through_b4_runner(setup):
    out = _b4_series(setup, _mail(COVER["v2"], "[PATCH v2 0/3] kharness fixture"))
    _check_format(out)
    assert len(out) == 1
    r = out[0]
    assert r["status"] == "fail", r
    assert "new failure: kharness-fixture/release_ok (pass -> fail)" in r["details"]
    assert r["summary"].startswith("b4-fixture/v2/small-gcc-kharness-fixture: fail: pass 2, fail 1")
    assert r["url"].startswith("file://") and r["url"].endswith("/report.html")
    assert "revision: b4-fixture@v2" in r["details"]


def test_good_revision_passes_per_patch(setup):
    msg = _mail("b4-fixture-v1-2@kharness.invalid",
                "[PATCH v1 2/2] kbuild: tag the fixture kernel's release", reply_to=COVER["v1"])
    out = _b4_patch(setup, msg)
    _check_format(out)
    assert [r["status"] for r in out] == ["pass"], out
    assert "b4-fixture@v1, patch 2" in out[0]["details"]
    assert "pass 3, fail 0" in out[0]["summary"]


def test_untested_revision_and_unknown_message_warn_with_why(setup):
    out = _b4_series(setup, _mail(COVER["v3"], "[PATCH v3 0/4] kharness fixture"))
    _check_format(out)
    assert out[0]["status"] == "warn" and "not tested yet" in out[0]["summary"]
    assert "--run" in out[0]["details"]
    out = _b4_series(setup, _mail("someone-else@example.org", "[PATCH] unrelated"))
    _check_format(out)
    assert out[0]["status"] == "warn"
    assert "someone-else@example.org" in out[0]["details"]


def test_no_message_is_an_execution_error_for_b4(setup):
    """b4 shows a non-zero exit without JSON as a failure with stderr as details."""
    msg = email.message.EmailMessage()       # no Message-ID
    msg["Subject"] = "x"
    msg.set_content("x\n")
    out = b4checks.run_series_checks(("x", msg), [_cmd(setup)], str(ROOT))
    assert out[0]["status"] == "fail" and "exited with error code 2" in out[0]["summary"]
    assert "no Message-ID" in out[0]["details"]


def test_run_is_called_for_missing_jobs(setup, monkeypatch):
    data = _mail(COVER["v3"], "[PATCH v3 0/4] x").as_bytes()
    asked = []
    out = check(data, series_level=True, matrix=setup["matrix"], root=setup["results"],
                run=lambda specs: asked.append([s.label() for s in specs]))
    assert asked == [["b4-fixture@v3:small:gcc:kharness-fixture"]]
    assert out[0]["status"] == "warn"


def test_parse_message_refs_and_number():
    m = parse_message(_mail("a@b", "[PATCH v3 2/5] foo: bar", reply_to="c@d").as_bytes())
    assert (m.msgid, m.refs, m.patch_number) == ("a@b", ["c@d"], (2, 5))


def test_flaky_warns_and_new_warning_fails():
    job = load_job(RUNS / "fixture-v1")
    t = job.suites[0].parsed.tests[0]
    t.status, t.runs = Status.FLAKY, ["fail", "pass"]
    status, lines = judge(Found(spec=None, job=job, base=load_job(RUNS / "fixture-v1")))
    assert status == "warn" and "flaky: kharness-fixture/proc_version" in lines
    build = next(s for s in job.stages if s.name == "build")
    build.data["new"] = ["kernel/time/timeconv.c:54:13: warning: unused variable 'x'"]
    status, lines = judge(Found(spec=None, job=job))
    assert status == "fail" and any(x.startswith("new warning: kernel/time") for x in lines)
