"""Confirmation of a found culprit: the pure verdict over injected runs, the
patch bisect's checks over a fake pipeline, and the CLI's words and exit codes."""
import json

import pytest

import harness
from bisection.bayes import FlakeModel
from bisection.confirm import (CONFIRMED, INCONCLUSIVE, UNCONFIRMED, Check, agrees,
                               confirm)
from bisection.criteria import parse_criterion
from bisection.drivers import bisect_patches
from bisection.flow import SearchOptions
from bisect_fakes import FakePipeline, bisect_results, fake_stages  # noqa: F401
from pipeline.job import JobSpec


def runs(*verdicts):
    it = iter(verdicts)
    return lambda: (next(it), "why")


def test_confirmed_when_every_check_agrees():
    c = confirm([Check("culprit", "bad", runs("bad", "bad", "bad")),
                 Check("last good", "good", runs("good", "good", "good"))], 3)
    assert c.verdict == CONFIRMED and c.why == ""
    assert [(r.fails, r.runs, r.agrees) for r in c.checks] == [(3, 3, True), (0, 3, True)]


def test_unconfirmed_when_the_culprit_passes_on_a_rerun():
    c = confirm([Check("culprit", "bad", runs("bad", "good", "bad")),
                 Check("last good", "good", runs("good", "good", "good"))], 3)
    assert c.verdict == UNCONFIRMED
    assert c.why == "culprit was expected bad but gave fail:runs 2:3"


def test_unconfirmed_outweighs_a_check_that_could_not_be_judged():
    c = confirm([Check("without", "good", runs("bad", "bad", "bad")),
                 Check("revert", "good", unavailable="the revert does not apply")], 3)
    assert c.verdict == UNCONFIRMED and "without was expected good" in c.why


def test_inconclusive_when_a_check_cannot_run_or_be_judged():
    c = confirm([Check("culprit", "bad", runs("bad", "bad")),
                 Check("revert", "good", unavailable="the revert does not apply"),
                 Check("last good", "good", runs("good", "skip"))], 2)
    assert c.verdict == INCONCLUSIVE
    assert "revert: the revert does not apply" in c.why
    assert "last good: could not be judged: why" in c.why
    assert c.lines()[0].startswith("confirmation: inconclusive (")


@pytest.mark.parametrize("expect,fails,n,model,ok", [
    ("bad", 3, 3, FlakeModel(), True), ("bad", 2, 3, FlakeModel(), False),
    ("good", 1, 3, FlakeModel(), False), ("good", 0, 3, FlakeModel(0.3, 0.0), True),
    ("bad", 1, 3, FlakeModel(0.3, 0.0), True), ("bad", 0, 3, FlakeModel(0.3, 0.0), False),
    ("bad", 1, 10, FlakeModel(0.9, 0.0), True),      # q = 0: any failure shows the culprit
    ("bad", 1, 3, FlakeModel(0.5, 0.05), True),      # a bad step explains 1:3 better
    ("bad", 1, 10, FlakeModel(0.5, 0.05), False),    # a good step explains 1:10 better
    ("good", 1, 10, FlakeModel(0.5, 0.05), True), ("good", 4, 10, FlakeModel(0.5, 0.05), False),
    ("good", 1, 3, FlakeModel(0.5, 0.0), False)])    # q = 0: a good step never fails
def test_agreement_under_the_flake_model(expect, fails, n, model, ok):
    assert agrees(expect, fails, n, model) is ok


def test_a_flaky_culprit_is_confirmed_by_one_failure_its_good_steps_by_none():
    flaky = FlakeModel(0.5, 0.0)
    ok = confirm([Check("culprit", "bad", runs("good", "bad", "good")),
                  Check("last good", "good", runs("good", "good", "good")),
                  Check("without", "good", runs("good", "good", "good"))], 3, flaky)
    assert ok.verdict == CONFIRMED
    never = confirm([Check("culprit", "bad", runs("good", "good", "good"))], 3, flaky)
    assert never.verdict == UNCONFIRMED and "fail:runs 0:3" in never.why
    once = confirm([Check("culprit", "bad", runs("bad", "bad", "bad")),
                    Check("without", "good", runs("good", "bad", "good"))], 3, flaky)
    assert once.verdict == UNCONFIRMED and "without was expected good" in once.why


CRIT = parse_criterion("test:kernel_facts/release_ok")


def patch3(spec, n):
    """kharness-fixture@v2: patch 3 breaks the test."""
    return "fail" if spec.series and (spec.upto or 3) >= 3 and spec.skip is None else "pass"


def bisect(tmp_path, script, **opts):
    return bisect_patches("kharness-fixture", "v2", CRIT, FakePipeline(tmp_path, script),
                          JobSpec(profile="small"), tmp_path, SearchOptions(**opts))


def patch2(spec, n):
    """kharness-fixture@v2 if patch 2 broke the test (and patches 1 and 3 did not)."""
    return "fail" if spec.series and (spec.upto or 3) >= 2 and spec.skip != 2 else "pass"


def test_a_patch_bisect_confirms_its_culprit(tmp_path):
    res, cands, summary, conf = bisect(tmp_path, patch2, tries=1)
    assert conf.verdict == CONFIRMED and cands[res.first_bad].upto == 2
    assert [c.name for c in conf.checks] == [
        "culprit (2 patches: kbuild: tag the fixture kernel's release)",
        "last good (1 patches: selftests/kharness: add a KTAP test of the running kernel)",
        "the series without patch 2"]
    assert "first bad: 2 patches" in summary and "confirmation: confirmed" in summary
    doc = json.loads((tmp_path / "bisect.json").read_text())
    assert doc["confirmation"]["verdict"] == "confirmed"
    assert [c["runs"] for c in doc["confirmation"]["checks"]] == [3, 3, 3]


def test_the_last_patch_without_it_is_the_last_good_step_run_once(tmp_path):
    pipe = FakePipeline(tmp_path, patch3)
    res, cands, summary, conf = bisect_patches("kharness-fixture", "v2", CRIT, pipe,
                                               JobSpec(profile="small"), tmp_path,
                                               SearchOptions(tries=1))
    assert conf.verdict == CONFIRMED and cands[res.first_bad].upto == 3
    assert [c.name for c in conf.checks] == [
        "culprit (3 patches: kbuild: mark the fixture kernel's release as broken)",
        "last good (2 patches: kbuild: tag the fixture kernel's release) = the series "
        "without patch 3"]
    assert not any(skip for (_, _, _, skip) in pipe.seen)


def test_unconfirmed_because_the_culprit_passes_on_rerun(tmp_path):
    def script(spec, n):                    # patch 3's job fails once, then passes
        return "pass" if spec.upto == 3 and n > 1 else patch3(spec, n)
    res, _, summary, conf = bisect(tmp_path, script, tries=1)
    assert conf.verdict == UNCONFIRMED and "culprit (3 patches" in conf.why
    assert "first bad (unconfirmed): 3 patches" in summary
    assert "\nfirst bad: " not in summary
    assert "confirm culprit" in (tmp_path / "bisect.log").read_text()


def test_unconfirmed_because_the_series_without_the_culprit_still_fails(tmp_path):
    res, _, summary, conf = bisect(tmp_path, lambda s, n: "fail" if s.skip == 2
                                   else patch2(s, n), tries=1)
    assert conf.verdict == UNCONFIRMED
    assert conf.why == "the series without patch 2 was expected good but gave fail:runs 3:3"


def test_inconclusive_because_the_series_without_the_culprit_does_not_apply(tmp_path):
    res, _, summary, conf = bisect(tmp_path, lambda s, n: "apply-fails" if s.skip == 2
                                   else patch2(s, n), tries=1)
    assert conf.verdict == INCONCLUSIVE
    assert "the series without patch 2: could not be judged: apply failed" in conf.why
    assert "first bad (inconclusive): 2 patches" in summary


def test_no_confirmation_when_asked_for_none(tmp_path):
    res, _, summary, conf = bisect(tmp_path, patch3, tries=1, confirm=0)
    assert conf is None and res.status == "found" and "confirmation" not in summary


def test_an_adaptive_patch_bisect_names_its_culprit_with_a_probability(tmp_path):
    res, cands, summary, conf = bisect(tmp_path, patch3, flake=FlakeModel(0.5, 0.0),
                                       confidence=0.99)
    assert res.status == "found" and cands[res.first_bad].upto == 3
    assert "flake model: p=0.5" in summary and "top candidates:" in summary
    assert conf.verdict == CONFIRMED
    log = (tmp_path / "bisect.log").read_text()
    assert "run 2 (2 patches: kbuild: tag the fixture kernel's release): good" in log


def test_an_adaptive_bisect_confirms_a_culprit_that_fails_every_other_run(tmp_path):
    def script(spec, n):                    # patch 3 fails on odd runs only
        return "fail" if patch3(spec, n) == "fail" and n % 2 else "pass"
    res, cands, summary, conf = bisect(tmp_path, script, flake=FlakeModel(0.5, 0.0),
                                       confidence=0.95, confirm=2)
    assert cands[res.first_bad].upto == 3 and conf.verdict == CONFIRMED, summary
    assert conf.checks[0].fails == 1 and conf.checks[0].runs == 2
    assert "evidence: kharness-fixture/kernel_facts/release_ok failed (confirmation " \
           "fail:runs 1:2)" in summary           # the culprit's failing run, not its pass


def test_measured_flakiness_that_never_fails_is_not_reproduced(tmp_path):
    res, _, summary, conf = bisect(tmp_path, lambda s, n: "pass", measure=4)
    assert res.status == "not-reproduced" and "did not fail in 4 of 4" in res.message
    assert conf is None


# ---- through harness.main, with fake stages ----------------------------------------

def main(results, *extra):
    return harness.main(["bisect", "kharness-fixture@v2", "--profile", "small",
                         "--criterion", "build", "--results", str(results), *extra])


def breaks(spec):
    return bool(spec.series) and (spec.upto or 3) >= 3 and spec.skip is None


def breaks2(spec):
    """Patch 2 breaks the build; patches 1 and 3 without it do not."""
    return bool(spec.series) and (spec.upto or 3) >= 2 and spec.skip != 2


def test_cli_confirmed_bisect_exits_0(bisect_results, monkeypatch, capsys):
    fake_stages(monkeypatch, breaks)
    assert main(bisect_results, "--tries", "1", "--confirm", "2") == 0
    out = capsys.readouterr().out
    assert "first bad: 3 patches" in out and "confirmation: confirmed" in out


def test_cli_unconfirmed_bisect_exits_1(bisect_results, monkeypatch, capsys):
    fake_stages(monkeypatch, lambda s: bool(s.series) and (s.upto or 3) >= 2)
    assert main(bisect_results, "--tries", "1") == 1
    assert "first bad (unconfirmed): 2 patches" in capsys.readouterr().out


def test_cli_inconclusive_bisect_exits_8(bisect_results, monkeypatch, capsys):
    fake_stages(monkeypatch, breaks2, apply_fails=lambda spec: spec.skip is not None)
    assert main(bisect_results, "--tries", "1") == 8
    assert "first bad (inconclusive): 2 patches" in capsys.readouterr().out


def test_cli_flake_rate_runs_the_probabilistic_search(bisect_results, monkeypatch, capsys):
    fake_stages(monkeypatch, breaks)
    assert main(bisect_results, "--flake-rate", "0.6", "--confidence", "0.9", "--confirm", "1") == 0
    out = capsys.readouterr().out
    assert "flake model: p=0.6" in out and "first bad: 3 patches" in out


@pytest.mark.parametrize("flags,msg", [
    (["--flake-rate", "0.5", "--measure-flakiness", "3"], "not both"),
    (["--flake-rate", "0.05", "--false-fail-rate", "0.1"], "q < p"),
    (["--confidence", "1.5"], "--confidence"),
    (["--max-runs", "0"], "--max-runs")])
def test_cli_refuses_bad_search_flags(bisect_results, flags, msg, capsys):
    assert main(bisect_results, *flags) == 2
    assert msg in capsys.readouterr().err


# ---- bisect-commits: the revert on the bad end -------------------------------------

def commits(tmp_path, states):
    """A repo whose commit k writes `state` = states[k]; returns (repo, shas)."""
    import subprocess
    from bisection.drivers import GIT_ID
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "-C", str(repo), "init", "-q"], check=True)
    shas = []
    for k, text in enumerate(states):
        (repo / "state").write_text(text)
        (repo / f"f{k}").write_text(str(k))
        subprocess.run(["git", "-C", str(repo), "add", "."], check=True)
        subprocess.run(["git", *GIT_ID, "-C", str(repo), "commit", "-qm", f"c{k}"], check=True)
        shas.append(subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True,
                                   capture_output=True, text=True).stdout.strip())
    return repo, shas


def state_check(name, expect, wt):
    return Check(name, expect, lambda: ("bad" if (wt / "state").read_text() == "BROKEN"
                                        else "good", (wt / "state").read_text()))


def test_bisect_commits_culprit_confirmed_by_its_revert(tmp_path):
    from bisection.drivers import confirm_commit
    from common.proc import Runner
    # the culprit (2) sets BROKEN; a later commit touches another file only
    repo, shas = commits(tmp_path, ["fine", "fine", "BROKEN"])
    (repo / "other").write_text("x")
    import subprocess
    from bisection.drivers import GIT_ID
    subprocess.run(["git", "-C", str(repo), "add", "other"], check=True)
    subprocess.run(["git", *GIT_ID, "-C", str(repo), "commit", "-qm", "other"], check=True)
    conf = confirm_commit(repo, "HEAD", shas[2], Runner(), tmp_path / "out", 2, state_check)
    assert conf.verdict == CONFIRMED, conf.lines()
    assert conf.checks[2].name.endswith(f"with {shas[2][:12]} reverted")
    assert not (tmp_path / "out" / "confirm" / "revert").exists()      # removed


def test_bisect_commits_revert_that_does_not_apply_is_inconclusive(tmp_path):
    from bisection.drivers import confirm_commit
    from common.proc import Runner
    # commit 3 rewrites `state` again, so reverting the culprit conflicts
    repo, shas = commits(tmp_path, ["fine", "fine", "BROKEN", "BROKEN again"])
    conf = confirm_commit(repo, shas[3], shas[2], Runner(), tmp_path / "out", 2,
                          lambda n, e, wt: state_check(n, e, wt) if "revert" not in n
                          else pytest.fail("the revert did not apply: nothing to run"))
    assert conf.verdict == INCONCLUSIVE
    assert f"git revert of {shas[2][:12]} does not apply on {shas[3][:12]}" in conf.why


def test_cli_bisect_commits_confirms_with_a_revert(bisect_results, tmp_path, monkeypatch, capsys):
    import bisection.drivers
    from pathlib import Path
    repo, shas = commits(tmp_path, ["fine", "fine", "BROKEN", "BROKEN"])
    monkeypatch.setattr(bisection.drivers, "bisect_commits",
                        lambda repo, good, bad, step, runner, out: (shas[2], "git bisect log"))
    fake_stages(monkeypatch, lambda spec: (Path(spec.worktree) / "state").read_text() == "BROKEN")
    code = harness.main(["bisect-commits", shas[0], shas[3], "--repo", str(repo),
                         "--profile", "small", "--criterion", "build", "--confirm", "1",
                         "--results", str(bisect_results)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "confirmation: confirmed" in out and f"first bad commit: {shas[2]}" in out
    doc = json.loads(next(bisect_results.rglob("bisect.json")).read_text())
    assert doc["confirmation"]["verdict"] == "confirmed"
