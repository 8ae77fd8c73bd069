"""Property tests: no input makes a parser raise anything but ParseError."""
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ParseError
from results.detect import parse_any
from results.kselftest import parse_kselftest
from results.ktap import emit_ktap, parse_ktap
from results.model import Status, TestResult
from results.splat import find_splats
from results.test_progs import parse_test_progs, parse_test_progs_json

PIECES = ["KTAP version 1", "TAP version 13", "1..3", "1..0 # SKIP x", "ok 1 a", "not ok 2 b",
          "ok 3 c # SKIP", "  ok 1 sub", "    KTAP version 1", "# Subtest: s", "  ---", "  ...",
          "Bail out!", "# diag", "#1/1 t/s:OK", "#1 t:FAIL", "Summary: 1/1 PASSED, 0 SKIPPED,"
          " 0 FAILED", "# selftests: a: b", "not ok 1 selftests: a: b # exit=1",
          "Kernel panic - not syncing: x", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2",
          " f+0x1/0x2", "---[ end trace 0 ]---", "BUG: KASAN: x", "", "{", '"results": [']
LINES = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=40)), max_size=40)


def ok_or_parse_error(fn, arg):
    try:
        fn(arg)
    except ParseError:
        pass


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_parsers_never_raise_other_errors(lines):
    for fn in (parse_ktap, parse_kselftest, parse_test_progs):
        ok_or_parse_error(fn, lines)
    ok_or_parse_error(parse_test_progs_json, "\n".join(lines))
    parse_any(lines)
    find_splats(lines)


NAMES = st.text(alphabet=st.characters(whitelist_categories=("L", "N")), min_size=1,
                max_size=12)
TESTS = st.recursive(
    st.builds(lambda n, s: TestResult(n, s), NAMES,
              st.sampled_from([s for s in Status if s != Status.FLAKY])),
    lambda kids: st.builds(lambda n, subs: TestResult(n, Status.FAIL, subtests=subs), NAMES,
                           st.lists(kids, min_size=1, max_size=3)),
    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(TESTS, min_size=1, max_size=4))
def test_emit_parse_roundtrip(tests):
    back = parse_ktap(emit_ktap(tests).splitlines())
    want = [(p, t.status) for x in tests for p, t in x.walk()]
    got = [(p, t.status) for x in back.tests for p, t in x.walk()]
    assert got == want
