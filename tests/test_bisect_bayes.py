"""The probabilistic bisection core: Bayes updates, the choice of the next step,
the stop rules, over scripted and seeded-random runs."""
import random

import pytest

from bisection.bayes import (ALL_SKIPPED, BUDGET, FOUND, FlakeModel,
                             bayes_search, information, next_step, uniform_prior, update)


def test_a_failure_with_no_false_failures_rules_out_every_later_culprit():
    post = update(uniform_prior(5), FlakeModel(0.5, 0.0), 2, True)
    assert post == pytest.approx([0, 0.5, 0.5, 0, 0])


def test_a_pass_of_a_flaky_step_only_lowers_the_earlier_culprits():
    post = update(uniform_prior(3), FlakeModel(0.5, 0.0), 1, False)
    # culprit 1: pass w.p. 0.5; culprit 2: step 1 is before it, pass w.p. 1
    assert post == pytest.approx([0, 1 / 3, 2 / 3])


def test_information_is_highest_in_the_middle_for_a_deterministic_test():
    gains = information(uniform_prior(9), FlakeModel())
    assert max(range(1, 9), key=lambda i: gains[i]) == 4
    assert gains[8] == pytest.approx(0.0)          # the bad end tells nothing


def test_a_flaky_test_is_asked_below_the_median():
    """A pass says little when p is low, so the best split puts less than half the
    mass at or below the step (the Z-channel's optimum is under 1/2)."""
    post = uniform_prior(65)
    i = next_step(post, FlakeModel(0.3, 0.0), set())
    assert sum(post[: i + 1]) < 0.5


def test_unusable_steps_are_not_chosen():
    post = uniform_prior(9)
    assert next_step(post, FlakeModel(), {4}) in (3, 5)


def scripted(culprit, p, q, seed):
    rng = random.Random(seed)
    return lambda i: rng.random() < (p if i >= culprit else q)


def test_deterministic_search_is_a_binary_search():
    res = bayes_search(65, lambda i: i >= 23, FlakeModel(), confidence=0.95)
    assert res.status == FOUND and res.first_bad == 23 and res.last_good == 22
    assert len(res.runs) == 6 and res.confidence == pytest.approx(1.0)


@pytest.mark.parametrize("culprit", [1, 17, 40, 64])
def test_flaky_search_finds_the_culprit_with_its_confidence(culprit):
    res = bayes_search(65, scripted(culprit, 0.5, 0.0, culprit), FlakeModel(0.5, 0.0),
                       confidence=0.99)
    assert res.status == FOUND and res.first_bad == culprit
    assert res.confidence >= 0.99 and res.top(1) == [(culprit, res.confidence)]


def test_the_budget_stops_the_search_with_the_top_candidates():
    res = bayes_search(65, scripted(30, 0.3, 0.05, 1), FlakeModel(0.3, 0.05),
                       confidence=0.95, max_runs=5)
    assert res.status == BUDGET and len(res.runs) == 5 and res.confidence < 0.95
    top = res.top(3)
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]
    assert "budget" in res.message


def test_a_step_is_asked_only_while_its_result_is_uncertain():
    """With a deterministic test every answer leaves some culprit: the search
    never runs the bad end or a step the earlier runs already decided."""
    res = bayes_search(4, {1: False, 2: True, 3: False}.__getitem__, FlakeModel(), 0.95)
    assert res.status == FOUND and res.first_bad == 2
    assert [r.index for r in res.runs] == [1, 2]


def test_skipped_steps_are_left_out():
    res = bayes_search(9, lambda i: None if i == 4 else i >= 6, FlakeModel(), 0.95)
    assert res.status == FOUND and res.first_bad == 6
    assert [r.index for r in res.runs].count(4) == 1


def test_a_skip_next_to_the_culprit_leaves_two_candidates():
    res = bayes_search(9, lambda i: None if i == 4 else i >= 5, FlakeModel(), 0.95)
    assert res.status == ALL_SKIPPED
    assert res.top(3) == [(4, pytest.approx(0.5)), (5, pytest.approx(0.5))]


def test_every_step_skipped():
    res = bayes_search(4, lambda i: None, FlakeModel(), 0.95)
    assert res.status == ALL_SKIPPED and [r.index for r in res.runs] == [1, 2]


def test_bad_models_are_refused():
    with pytest.raises(ValueError):
        FlakeModel(0.0, 0.0)
    with pytest.raises(ValueError):
        FlakeModel(0.3, 0.3)
    with pytest.raises(ValueError):
        bayes_search(4, lambda i: True, FlakeModel(), confidence=1.0)
