"""A bisect step runs only the stages its criterion reads."""
import pytest

from bisection.criteria import parse_criterion
from pipeline.stages import STAGES


@pytest.mark.parametrize("crit,last", [("warning:unused", "build"), ("build", "selftests-build"),
                                       ("boot", "boot"), ("test:a/b", "test"),
                                       ("splat:WARNING", "test")])
def test_steps_stop_after_the_criterions_last_stage(crit, last):
    names = [n for n, _ in parse_criterion(crit).stages(STAGES)]
    assert names[-1] == last and names == [n for n, _ in STAGES][: len(names)]
