from common.stage import StageResult
from bisection.revisions import table
from results.model import ParsedLog, Splat, Status, TestResult
from results.store import JobSummary, SuiteRecord


def job(statuses, stages=(("build", "ok", 0),), splats=0):
    tests = [TestResult(n, Status(s)) for n, s in statuses.items()]
    st = [StageResult(n, s, data={"new_warnings": w}) for n, s, w in stages]
    return JobSummary("j", "complete", 0, st, [SuiteRecord("path-iterator",
                                                            ParsedLog("test_progs", tests))],
                      [Splat("warning", "x", f"f{i}") for i in range(splats)])


def test_revision_by_test_table():
    text = table(["v2-6.12", "v5-6.12"], [
        job({"open_code": "pass"}),
        job({"open_code": "pass", "path_walk_example": "fail"}, (("build", "ok", 3),), 1)])
    lines = text.splitlines()
    assert lines[0].split() == ["test", "v2-6.12", "v5-6.12"]
    assert lines[3].split() == ["(new", "warnings)", "0", "3"]
    assert lines[4].split() == ["(splats)", "0", "1"]
    assert lines[-1].split() == ["path-iterator/path_walk_example", "-", "fail"]


def test_a_parent_failing_after_its_subtests_passed_is_in_the_table():
    parent = TestResult("path_iter", Status.FAIL,
                        subtests=[TestResult("open_code", Status.PASS)])
    bad = JobSummary("j", "complete", 1, [StageResult("build", "ok")],
                     [SuiteRecord("path-iterator", ParsedLog("test_progs", [parent]))], [])
    text = table(["v1"], [bad])
    assert any(line.split() == ["path-iterator/path_iter", "fail"] for line in text.splitlines())


def test_range_diff_pairs_and_the_patches_that_differ():
    from bisection.revisions import differing_patches, patch_pairs
    text = """\
 1:  2dfde53 =  1:  2dfde53 selftests/kharness: add a KTAP test
 2:  d25b8d1 !  2:  9a9a9a9 kbuild: tag the release
    @@ Metadata
    - 3:  abc = 3: abc not a pair, a diff line
 3:  aaaaaaa <  -:  ------- dropped: gone
 -:  ------- > 10:  4b44018 kbuild: mark the release as broken
"""
    pairs = patch_pairs(text)
    assert [(p.old, p.new, p.mark) for p in pairs] == [
        (1, 1, "="), (2, 2, "!"), (3, None, "<"), (None, 10, ">")]
    assert pairs[2].subject == "dropped: gone"
    assert differing_patches(pairs) == [2, 10]
    assert differing_patches(patch_pairs(text.replace("!", "="))) == [10]
