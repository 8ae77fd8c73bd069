"""bisect SERIES --revs ... --then-patches through harness.main, with fake stages and
a recorded range-diff: the first bad revision, then its patches that differ."""
import json

import pytest

import harness
from bisect_fakes import bisect_results, fake_stages  # noqa: F401

# `harness.py diff kharness-fixture v1 v2` as git range-diff printed it
SAME_12_NEW_3 = """\
1:  2dfde53 = 1:  2dfde53 selftests/kharness: add a KTAP test of the running kernel
2:  d25b8d1 = 2:  d25b8d1 kbuild: tag the fixture kernel's release
-:  ------- > 3:  4b44018 kbuild: mark the fixture kernel's release as broken
"""
ALL_SAME = "\n".join(SAME_12_NEW_3.splitlines()[:2]) + "\n"
CHANGED_2 = """\
1:  2dfde53 = 1:  2dfde53 selftests/kharness: add a KTAP test of the running kernel
2:  d25b8d1 ! 2:  9a9a9a9 kbuild: tag the fixture kernel's release
    @@ Metadata
     ## Makefile ##
    -old
    +new
-:  ------- > 3:  4b44018 kbuild: mark the fixture kernel's release as broken
"""


def with_range_diff(monkeypatch, text):
    import patches.rangediff

    class Result:
        def __init__(self):
            self.text = text
    monkeypatch.setattr(patches.rangediff, "range_diff", lambda req, runner: Result())


def breaks_at(k):
    """v2 with patch k (and not without it) breaks the build; v1 builds."""
    return lambda s: s.rev == "v2" and (s.upto or 3) >= k and s.skip != k


def bisect(results, monkeypatch, capsys, range_diff, bad):
    """harness.py bisect kharness-fixture --revs v1,v2 --then-patches with that
    range-diff, the build failing when bad(spec): (exit code, stdout)."""
    with_range_diff(monkeypatch, range_diff)
    fake_stages(monkeypatch, bad)
    code = harness.main(["bisect", "kharness-fixture", "--revs", "v1,v2", "--then-patches",
                         "--profile", "small", "--criterion", "build", "--tries", "1",
                         "--confirm", "2", "--results", str(results)])
    return code, capsys.readouterr().out


def bisect_json(results):
    return json.loads(next(results.rglob("bisect.json")).read_text())


def test_first_bad_revision_then_its_new_patch(bisect_results, monkeypatch, capsys):
    code, out = bisect(bisect_results, monkeypatch, capsys, SAME_12_NEW_3, breaks_at(3))
    assert code == 0, out
    assert "first bad: v2" in out
    assert "then, within v2: its patches that differ from v1: 3" in out
    assert "first bad: 3 patches: kbuild: mark the fixture kernel's release as broken" in out
    assert out.count("confirmation: confirmed") == 2
    doc = bisect_json(bisect_results)
    assert doc["status"] == "found" and doc["confirmation"]["verdict"] == "confirmed"
    sub = doc["then_patches"]
    assert sub["differing"] == [3] and sub["status"] == "found" and sub["note"] == ""
    assert [s["candidate"] for s in sub["steps"]] == [
        "3 patches: kbuild: mark the fixture kernel's release as broken",
        "2 patches: kbuild: tag the fixture kernel's release"]
    log = next(bisect_results.rglob("bisect.log")).read_text()
    assert "bisect kharness-fixture revisions v1, v2" in log
    assert "bisect kharness-fixture@v2 patches 2,3 criterion build" in log


def test_only_the_differing_patches_are_candidates(bisect_results, monkeypatch, capsys):
    code, out = bisect(bisect_results, monkeypatch, capsys, CHANGED_2, breaks_at(2))
    assert code == 0, out
    assert "its patches that differ from v1: 2, 3" in out
    assert "first bad: 2 patches: kbuild: tag the fixture kernel's release" in out
    sub = bisect_json(bisect_results)["then_patches"]
    assert sub["differing"] == [2, 3]
    assert sorted(s["candidate"].split()[0] for s in sub["steps"]) == ["1", "2", "3"]


@pytest.mark.parametrize("text,said", [
    (ALL_SAME, "no patch bisect: every patch of v2 matches one of v1"),
    ("", "no patch bisect: the range-diff v1..v2 is empty")])
def test_nothing_to_bisect_within_the_revision_is_said(bisect_results, monkeypatch, capsys,
                                                       text, said):
    code, out = bisect(bisect_results, monkeypatch, capsys, text, breaks_at(3))
    assert code == 0             # the revision level stands alone
    assert said in out and "first bad: v2" in out
    doc = bisect_json(bisect_results)
    assert doc["then_patches"]["note"].startswith(said) and doc["then_patches"]["differing"] == []
    assert said in next(bisect_results.rglob("bisect.log")).read_text()
    assert not list(bisect_results.rglob("patches/bisect.json"))


def test_an_unconfirmed_patch_level_exits_1(bisect_results, monkeypatch, capsys):
    # without patch 2, v2 still breaks: patch 2 is not the culprit alone
    code, out = bisect(bisect_results, monkeypatch, capsys, CHANGED_2,
                       lambda s: s.rev == "v2" and (s.upto or 3) >= 2)
    assert code == 1
    assert "first bad: v2" in out and "first bad (unconfirmed): 2 patches" in out
    assert "the series without patch 2 was expected good" in out


def test_an_unconfirmed_revision_gets_no_patch_level(bisect_results, monkeypatch, capsys):
    seen = []

    def v2_breaks_once(spec):               # v2 breaks its first build only
        seen.append(spec.rev)
        return spec.rev == "v2" and seen.count("v2") == 1
    code, out = bisect(bisect_results, monkeypatch, capsys, SAME_12_NEW_3, v2_breaks_once)
    assert code == 1
    assert "first bad (unconfirmed): v2" in out
    assert "no patch bisect: v2 is unconfirmed as the first bad revision" in out
    assert "then, within" not in out


def test_no_first_bad_revision_no_patch_level(bisect_results, monkeypatch, capsys):
    code, out = bisect(bisect_results, monkeypatch, capsys, SAME_12_NEW_3, lambda s: False)
    assert code == 1
    assert "no patch bisect: the revision bisect named no first bad revision" in out


@pytest.mark.parametrize("args", [["kharness-fixture@v2"],
                                  ["kharness-fixture", "--revs", "v1,v2", "--good", "1"]])
def test_then_patches_needs_revisions_and_no_good(bisect_results, args, capsys):
    code = harness.main(["bisect", *args, "--then-patches", "--profile", "small",
                         "--criterion", "build", "--results", str(bisect_results)])
    err = capsys.readouterr().err
    assert code == 2 and "--then-patches goes with a bisect over revisions" in err
