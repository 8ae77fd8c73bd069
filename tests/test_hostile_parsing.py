"""Hostile logs through `harness.py parse`: every parser stays linear and bounded
(plan size, nesting depth, line length, number of results); past a cap the log is
parsed up to it, marked incomplete (exit 1, never 0) with a note, never a crash."""
import json
import time

import pytest

import harness
import results.kselftest
import results.ktap
import results.test_progs
from results.limits import MAX_DEPTH, MAX_MISSING


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


def parse(tmp_path, capsys, text, *extra):
    log = tmp_path / "hostile.log"
    log.write_text(text)
    t0 = time.monotonic()
    code = harness.main(["parse", str(log), "--json", *extra])
    took = time.monotonic() - t0
    return code, json.loads(capsys.readouterr().out), took


def all_tests(doc):
    stack, n = list(doc["tests"]), 0
    while stack:
        t = stack.pop()
        n += 1
        stack += t.get("subtests", [])
    return n


@pytest.mark.parametrize("text", [
    "KTAP version 1\n1..10000000\nok 1 first\n",
    "TAP version 13\n1..10000000\n# selftests: net: a\nok 1 selftests: net: a\n",
    "KTAP version 1\n1..1\n" + "".join(f"  KTAP version 1\n  1..10000000\n  ok 1 x{i}\nok {i} t{i}\n"
                                       for i in range(1, 50)),
], ids=["ktap", "kselftest", "ktap-many-plans"])
def test_a_huge_plan_lists_a_bounded_number_of_missing_tests(tmp_path, capsys, text):
    code, doc, took = parse(tmp_path, capsys, text)
    assert code == 1 and not doc["complete"] and took < 5
    assert all_tests(doc) <= MAX_MISSING + 100
    assert any("missing tests listed" in n for n in doc["notes"])


def test_ktap_nested_1000_deep_stops_at_the_depth_cap(tmp_path, capsys):
    text = "KTAP version 1\n1..1\n"
    text += "".join(f"{'  ' * d}KTAP version 1\n{'  ' * d}1..1\n" for d in range(1, 1001))
    text += "".join(f"{'  ' * d}ok 1 t{d}\n" for d in range(1000, -1, -1))
    code, doc, took = parse(tmp_path, capsys, text)
    assert code == 1 and not doc["complete"] and took < 5
    assert any(f"nested more than {MAX_DEPTH} levels deep" in n for n in doc["notes"])


def test_a_very_long_line_is_cut_and_noted(tmp_path, capsys):
    text = "KTAP version 1\n1..2\nok 1 a\n# " + "x" * 3_000_000 + "\nok 2 b\n"
    code, doc, took = parse(tmp_path, capsys, text)
    assert code == 1 and not doc["complete"] and took < 5
    assert [t["status"] for t in doc["tests"]] == ["pass", "pass"]
    assert any("longer than" in n for n in doc["notes"])


@pytest.mark.parametrize("module,text", [
    (results.ktap, "KTAP version 1\n" + "".join(f"ok {i} t{i}\n" for i in range(1, 200))),
    (results.test_progs, "".join(f"#{i}      t{i}:OK\n" for i in range(1, 200))),
    (results.kselftest, "TAP version 13\n" + "".join(
        f"# selftests: d: t{i}\nok {i} selftests: d: t{i}\n" for i in range(1, 200))),
], ids=["ktap", "test_progs", "kselftest"])
def test_results_past_the_cap_are_not_read(tmp_path, capsys, monkeypatch, module, text):
    monkeypatch.setattr(module, "MAX_TESTS", 50)
    code, doc, _ = parse(tmp_path, capsys, text)
    assert code == 1 and not doc["complete"] and all_tests(doc) == 50
    assert any("50 results read" in n for n in doc["notes"])


def test_many_splats_among_many_results_attach_in_linear_time(tmp_path, capsys):
    n = 30_000
    text = "KTAP version 1\n" + "".join(
        f"WARNING: CPU: 0 PID: 1 at f{i}.c:1 f{i}+0x1/0x2\n---[ end trace ]---\nok {i} t{i}\n"
        for i in range(1, n + 1)) + f"1..{n}\n"
    code, doc, took = parse(tmp_path, capsys, text)
    assert code == 1 and took < 30
    assert len(doc["splats"]) == n and doc["splats"][-1]["test"] == f"t{n}"
