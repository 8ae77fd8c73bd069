"""Values of the wrong type (issue 25): a matrix file's `defaults: []`, `name: 5`
or `series: 5` is exit 2 naming the file and line (they were accepted), and
`harness.py parse -` reads non-UTF-8 stdin with bad bytes replaced, saying so."""
import io
import sys

import pytest

import harness


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


@pytest.mark.parametrize("text,line,what", [
    ("defaults: []\njobs:\n  - base: true\n", 1, "'defaults' must be a mapping"),
    ("jobs:\n  - base: true\n    name: 5\n", 3, "'name' must be a string, not a number"),
    ("defaults:\n  profile: 1.5\njobs:\n  - base: true\n", 2, "'profile' must be a string"),
    ("jobs:\n  - series: 5\n", 2, "'series' must be a string"),
    ("jobs:\n  - base: true\n    tree: [a]\n", 3, "'tree' must be a string, not a list"),
], ids=["defaults-list", "name-number", "profile-float", "series-number", "tree-list"])
def test_a_matrix_value_of_the_wrong_type_names_file_and_line(tmp_path, capsys, text,
                                                              line, what):
    f = tmp_path / "m.yaml"
    f.write_text(text)
    code = harness.main(["matrix", str(f), "--check"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{f}:{line}: " in err and what in err


def test_a_quoted_number_is_a_string(tmp_path, capsys):
    f = tmp_path / "m.yaml"
    f.write_text("jobs:\n  - base: true\n    name: '5'\n    profile: small\n")
    assert harness.main(["matrix", str(f), "--check"]) == 0, capsys.readouterr().err


def test_parse_stdin_that_is_not_utf8(monkeypatch, capsys):
    raw = b"TAP version 13\n1..2\nok 1 caf\xe9\nok 2 \xff\xfe done\n"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
    code = harness.main(["parse", "-"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "not UTF-8" in err and "Traceback" not in err
    assert "ok 1 caf\ufffd" in out and "ok 2 \ufffd\ufffd done" in out
