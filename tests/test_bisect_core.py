import pytest

from bisection.core import BAD, FLAKY, GOOD, SKIP, StepVerdict, evaluate_with_tries, search


def verdicts(*vs):
    """evaluate() that answers from a list of verdict strings and records the calls."""
    calls = []

    def evaluate(i, cand):
        calls.append(i)
        v = vs[i]
        return StepVerdict(v, fails=int(v == BAD), runs=1)
    return evaluate, calls


@pytest.mark.parametrize("n,first_bad", [(2, 1), (5, 3), (6, 1), (9, 8), (17, 5)])
def test_search_finds_first_bad(n, first_bad):
    ev, calls = verdicts(*[GOOD if i < first_bad else BAD for i in range(n)])
    res = search(list(range(n)), ev)
    assert res.status == "found" and res.first_bad == first_bad and res.last_good == first_bad - 1
    import math
    assert len(calls) <= math.ceil(math.log2(n)) + 2


def test_third_patch_breaks():
    # base + 5 patches: patch 3 breaks the test (candidate index = number of patches applied)
    ev, calls = verdicts(GOOD, GOOD, GOOD, BAD, BAD, BAD)
    res = search(["base", "p1", "p2", "p3", "p4", "p5"], ev)
    assert res.first_bad == 3
    assert calls[:2] == [5, 0]


def test_range_that_does_not_reproduce():
    ev, _ = verdicts(GOOD, GOOD, GOOD)
    res = search([0, 1, 2], ev)
    assert res.status == "not-reproduced" and res.first_bad is None


def test_bad_good_end():
    ev, _ = verdicts(BAD, BAD, BAD)
    assert search([0, 1, 2], ev).status == "good-end-is-bad"


def test_skip_moves_to_a_neighbour():
    ev, calls = verdicts(GOOD, GOOD, SKIP, GOOD, BAD)
    res = search(list(range(5)), ev)
    assert res.status == "found" and res.first_bad == 4
    assert 2 in calls and 3 in calls


def test_skip_next_to_the_culprit_leaves_a_range():
    ev, _ = verdicts(GOOD, GOOD, SKIP, BAD, BAD)
    res = search(list(range(5)), ev)
    assert res.status == "all-skipped" and "2..3" in res.message


def test_all_skipped_gives_the_range():
    ev, _ = verdicts(GOOD, SKIP, SKIP, BAD)
    res = search(list(range(4)), ev)
    assert res.status == "all-skipped" and "1..3" in res.message


def test_flaky_step_stops_the_search():
    ev, _ = verdicts(GOOD, GOOD, FLAKY, BAD, BAD)
    res = search(list(range(5)), ev)
    assert res.status == "flaky" and "candidate 2" in res.message


def test_tries_good_first_time():
    v = evaluate_with_tries(iter([GOOD]).__next__, 3)
    assert (v.verdict, v.fails, v.runs) == (GOOD, 0, 1)


def test_tries_all_bad():
    v = evaluate_with_tries(iter([BAD, BAD, BAD]).__next__, 3)
    assert (v.verdict, v.counts()) == (BAD, "fail:runs 3:3")


def test_tries_disagree_is_flaky():
    v = evaluate_with_tries(iter([BAD, GOOD]).__next__, 3)
    assert (v.verdict, v.counts()) == (FLAKY, "fail:runs 1:2")


def test_tries_skip():
    assert evaluate_with_tries(iter([SKIP]).__next__, 3).verdict == SKIP


def test_needs_two_candidates():
    with pytest.raises(ValueError):
        search([1], lambda i, c: StepVerdict(GOOD))
