"""Fuzz of the parse -> KTAP -> JSON -> JUnit path with hostile pieces (huge plans,
deep nesting, control characters, lone surrogates): no exception, bounded output,
well-formed XML; and time that grows linearly with the size of the log."""
import json
import time
import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from results.detect import parse_any
from results.junit import render
from results.ktap import emit_ktap, parse_ktap
from results.limits import MAX_MISSING
from results.store import SuiteRecord

HOSTILE = ["KTAP version 1", "TAP version 13", "1..10000000", "1..99999999999", "ok 1 a\x00b",
           "not ok 2 \x1b[31mred", "  KTAP version 1", "    1..5000000", "      ok 1 deep",
           "# \udc80\ufffe", "Bail out!", "# selftests: d: t", "ok 1 selftests: d: t",
           "#1 t:OK", "#1/1 t/s:FAIL", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2",
           "---[ end trace 0 ]---", "not ok 3 x # SKIP \x0b", "\x00" * 50]
LINES = st.lists(st.one_of(st.sampled_from(HOSTILE),
                           st.text(st.characters(max_codepoint=0x1ffff), max_size=30)),
                 max_size=60)


def all_tests(tests):
    stack, n = list(tests), 0
    while stack:
        t = stack.pop()
        n += 1
        stack += t.subtests
    return n


@settings(max_examples=150, deadline=None)
@given(LINES)
def test_parse_ktap_json_junit_never_break(lines):
    parsed = parse_any(lines)
    assert all_tests(parsed.tests) <= len(lines) + MAX_MISSING
    json.loads(json.dumps(parsed.to_dict()))
    parse_ktap(emit_ktap(parsed.tests).splitlines())
    ET.fromstring(render([("", [SuiteRecord("fuzz", parsed)])]).encode("utf-8"))


def timed(lines):
    t0 = time.perf_counter()
    parse_any(lines)
    return time.perf_counter() - t0


def test_time_grows_linearly_up_to_a_megabyte():
    unit = ["KTAP version 1", "1..3", "  KTAP version 1", "  1..2", "  ok 1 s", "  not ok 2 t",
            "ok 1 a", "# diag \x1b", "WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2",
            "---[ end trace 0 ]---", "not ok 2 b", "1..10000000"]
    small = unit * 400                      # about 64 KB
    big = unit * 6400                       # about 1 MB
    assert sum(map(len, big)) > 1_000_000
    ratio = min(timed(big) for _ in range(2)) / max(min(timed(small) for _ in range(3)), 1e-3)
    assert ratio < 16 * 4                   # 16x the input: linear with room for noise
