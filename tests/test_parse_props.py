"""Property tests for the parsers: any input gives a ParsedLog or a ParseError,
and the KTAP writer round-trips through the parser."""
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ParseError
from results.detect import parse_any
from results.kselftest import parse_kselftest
from results.ktap import emit_ktap, parse_ktap
from results.model import ParsedLog, Splat, Status, TestResult
from results.splat import attach_splats, find_splats
from results.test_progs import parse_test_progs, parse_test_progs_json

PIECES = [
    "KTAP version 1", "TAP version 13", "1..3", "1..0 # SKIP x", "ok 1 a", "not ok 2 b",
    "ok 3 c # SKIP", "ok", "not ok", "  ok 1 sub", "    KTAP version 1", "# Subtest: s",
    "  # Subtest:", "  ---", "  ...", "---", "Bail out!", "# diag", "#1/1 t/s:OK", "#1 t:FAIL",
    "#2       u:OK (SKIP: 1/2)", "Summary: 1/1 PASSED, 0 SKIPPED, 0 FAILED", "All error logs:",
    "Caught signal #11!", "[0]: #3:x running.", "WATCHDOG: test case t/s executes for 9 "
    "seconds, terminating with SIGSEGV", "# selftests: a: b", "not ok 1 selftests: a: b # exit=1",
    "# TAP version 13", "# 1..2", "# ok 1 x", "#", "[    1.0] KTAP version 1",
    "Kernel panic - not syncing: x", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2",
    " f+0x1/0x2", "Call Trace:", " <TASK>", " </TASK>", " <IRQ>", " <NMI>",
    "---[ end trace 0 ]---", "BUG: KASAN: x", "Oops: 0000 [#1]", "unreferenced object 0x1 (size 8):",
    "RIP: 0010:f+0x1/0x2", "", "{", '"results": [', '{"results": [{"subtests": [{}]}]}',
]
LINES = st.lists(st.one_of(st.sampled_from(PIECES), st.text(max_size=40)), max_size=40)


def parsed_or_parse_error(fn, arg):
    try:
        out = fn(arg)
    except ParseError as e:
        assert e.line is not None
        return None
    assert isinstance(out, ParsedLog)
    for _, t in out.flat():
        assert isinstance(t.status, Status)
    return out


@settings(max_examples=400, deadline=None)
@given(LINES)
def test_parsers_return_a_parsed_log_or_raise_parse_error(lines):
    for fn in (parse_ktap, parse_kselftest, parse_test_progs):
        parsed_or_parse_error(fn, lines)
    parsed_or_parse_error(parse_test_progs_json, "\n".join(lines))
    assert isinstance(parse_any(lines), ParsedLog)
    splats = find_splats(lines)
    assert all(isinstance(s, Splat) and 1 <= s.line <= len(lines) for s in splats)
    attach_splats(splats, [(1, "t")])
    assert all(s.test == "t" for s in splats)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_json_parser_on_arbitrary_text(text):
    parsed_or_parse_error(parse_test_progs_json, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=30))
def test_splat_fingerprints_do_not_depend_on_timestamps(lines):
    stamped = [f"[{i:5d}.000000] {x}" for i, x in enumerate(lines)]
    assert [s.fingerprint for s in find_splats(stamped)] == \
        [s.fingerprint for s in find_splats(lines)]


NAMES = st.text(alphabet=st.characters(whitelist_categories=("L", "N", "Pd", "Zs")),
                min_size=1, max_size=12).filter(lambda s: s.strip())
TESTS = st.recursive(
    st.builds(lambda n, s, r: TestResult(n, s, runs=r if s == Status.FLAKY else []), NAMES,
              st.sampled_from(list(Status)),
              st.lists(st.sampled_from(["fail", "pass"]), max_size=3)),
    lambda kids: st.builds(lambda n, s, subs: TestResult(n, s, subtests=subs), NAMES,
                           st.sampled_from(list(Status)), st.lists(kids, min_size=1, max_size=3)),
    max_leaves=10)


def flat(tests, prefix="", tidy=False):
    """(path, status, runs) depth first; `tidy` normalizes names as the writer does."""
    out = []
    for t in tests:
        name = " ".join(t.name.split()) if tidy else t.name
        path = f"{prefix}/{name}" if prefix else name
        out.append((path, t.status, t.runs))
        out += flat(t.subtests, path, tidy)
    return out


@settings(max_examples=300, deadline=None)
@given(st.lists(TESTS, min_size=1, max_size=4))
def test_emit_parse_roundtrip(tests):
    back = parse_ktap(emit_ktap(tests).splitlines())
    assert flat(back.tests) == flat(tests, tidy=True)
    assert back.complete and back.unknown == []
