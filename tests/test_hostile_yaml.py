"""Hostile YAML through `harness.py matrix FILE --check` (common/yamlfile.py is the
one loader of manifests, suites, matrices and trees): an alias bomb and deep
nesting fail fast with exit 2 naming the file and line, non-UTF-8 is an input
error, not a traceback."""
import time

import pytest

import harness

BOMB = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] +
                 [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, "
                  f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
                  f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]" for i in range(8)]) + "\n"


@pytest.fixture(autouse=True)
def results_root(tmp_path, monkeypatch):
    monkeypatch.setenv("HARNESS_RESULTS", str(tmp_path / "results"))


def check(tmp_path, capsys, data: bytes):
    f = tmp_path / "m.yaml"
    f.write_bytes(data)
    t0 = time.monotonic()
    code = harness.main(["matrix", str(f), "--check"])
    return code, capsys.readouterr().err, time.monotonic() - t0, f


@pytest.mark.parametrize("text,line,what", [
    (BOMB, 1, "aliases"),
    ("defaults: {}\njobs:\n  - base: true\n    name: &n x\n  - name: *n\n", 4, "aliases"),
    ("x: " + "[" * 5000 + "]" * 5000 + "\n", 1, "nested more than"),
    ("x:\n" + "".join("  " * d + "- \n" for d in range(1, 300)), None, "nested more than"),
], ids=["bomb", "alias", "deep-flow", "deep-block"])
def test_hostile_yaml_fails_fast_naming_the_file(tmp_path, capsys, text, line, what):
    code, err, took, f = check(tmp_path, capsys, text.encode())
    assert code == 2 and took < 5, err
    assert what in err and str(f) in err
    if line:
        assert f"{f}:{line}" in err


def test_the_bomb_is_small():
    assert len(BOMB) < 700


def test_non_utf8_yaml_is_an_input_error(tmp_path, capsys):
    code, err, _, f = check(tmp_path, capsys, b"jobs:\n  - name: caf\xe9\n")
    assert code == 2 and "not UTF-8" in err and str(f) in err and "Traceback" not in err
