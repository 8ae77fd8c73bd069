"""Kconfig expressions: tristate evaluation, comparisons, unmet-term marking."""
import pytest

from common.errors import ParseError
from configs.kexpr import evaluate, parse_expr, render, term_text, unmet_terms

V = {"A": "y", "B": "m", "C": "n", "LEVEL": "5", "NAME": '"abc"'}


@pytest.mark.parametrize("expr,want", [
    ("A", 2), ("B", 1), ("C", 0), ("MISSING", 0), ("A && B", 1), ("C || B", 1),
    ("!C", 2), ("!B", 1), ("!(A && C)", 2), ("A && (C || B)", 1), ("y", 2), ("m", 1),
    ("LEVEL >= 5", 2), ("LEVEL < 5", 0), ("LEVEL = 5", 2), ("LEVEL != 5", 0),
    ('NAME = "abc"', 2), ("A = y", 2), ("C != n", 0), ("$(cc-option,-foo)", 2),
])
def test_evaluate(expr, want):
    assert evaluate(parse_expr(expr), V) == want


def test_bad_expression_raises_parse_error():
    with pytest.raises(ParseError):
        parse_expr("A && (B")
    with pytest.raises(ParseError):
        parse_expr("A B")


def test_unmet_terms_in_and_chain():
    node = parse_expr("A && C && !A && LEVEL >= 7")
    bad = [term_text(t, V) for t in unmet_terms(node, V)]
    assert bad == ["C [=n]", "!A [=y]", "LEVEL [=5] >= 7"]


def test_unmet_or_marks_every_alternative_and_render_marks_them():
    node = parse_expr("A && (C || MISSING)")
    bad = unmet_terms(node, V)
    assert [term_text(t, V) for t in bad] == ["C [=n]", "MISSING [=n]"]
    assert render(node, V, bad) == "A [=y] && (<<C [=n]>> || <<MISSING [=n]>>)"


def test_need_level_for_y_versus_m():
    node = parse_expr("A && B")
    assert unmet_terms(node, V, need=1) == []
    assert [term_text(t, V) for t in unmet_terms(node, V, need=2)] == ["B [=m]"]
