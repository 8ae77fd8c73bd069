"""Fragment parsing and templates: values, errors with file and line."""
import pytest

from common.errors import InputError
from configs.fragment import load_fragment, parse_fragment_text


def test_parses_values_and_not_set_lines():
    frag = parse_fragment_text(
        '# a comment\nCONFIG_A=y\n\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D="x y"\n'
        "CONFIG_E=0x1f\nCONFIG_F=-3\nCONFIG_G=n\n", "f.config")
    got = [(s.symbol, s.value, s.line) for s in frag.settings]
    assert got == [("A", "y", 2), ("B", "m", 4), ("C", "n", 5), ("D", '"x y"', 6),
                   ("E", "0x1f", 7), ("F", "-3", 8), ("G", "n", 9)]
    assert frag.settings[0].where() == "f.config:2"


@pytest.mark.parametrize("text,line", [
    ("CONFIG_A=y\nCONFIG_B y\n", 2),
    ("CONFIG_A=y\n\nCONFIG_B=yes\n", 3),
    ('CONFIG_S="unterminated\n', 1),
    ("FOO=y\n", 1),
])
def test_syntax_errors_name_file_and_line(text, line):
    with pytest.raises(InputError) as e:
        parse_fragment_text(text, "frags/bad.config")
    assert e.value.path == "frags/bad.config"
    assert e.value.line == line
    assert f"frags/bad.config:{line}:" in str(e.value)


def test_template_renders_with_params(tmp_path):
    p = tmp_path / "k.config.j2"
    p.write_text("CONFIG_A=y\n{% if debug >= 2 %}CONFIG_INLINE=y\n{% else %}"
                 "CONFIG_OUTLINE=y\n{% endif %}{% if toolchain == 'gcc' %}CONFIG_G=y\n"
                 "{% endif %}CONFIG_ARCH_{{ arch | upper }}=y\n")
    hi = load_fragment(p, {"debug": 2, "toolchain": "llvm", "arch": "x86_64"})
    assert [s.symbol for s in hi.settings] == ["A", "INLINE", "ARCH_X86_64"]
    lo = load_fragment(p, {"debug": 0, "toolchain": "gcc", "arch": "x86_64"})
    assert [s.symbol for s in lo.settings] == ["A", "OUTLINE", "G", "ARCH_X86_64"]


def test_template_syntax_error_has_line(tmp_path):
    p = tmp_path / "bad.config.j2"
    p.write_text("CONFIG_A=y\n\nCONFIG_B={{ debug | }}\nCONFIG_C=y\n")
    with pytest.raises(InputError) as e:
        load_fragment(p, {"debug": 1})
    assert e.value.path == str(p) and e.value.line == 3


def test_template_undefined_param_is_an_error(tmp_path):
    p = tmp_path / "u.config.j2"
    p.write_text("{% if nosuch %}CONFIG_A=y{% endif %}\n")
    with pytest.raises(InputError) as e:
        load_fragment(p, {"debug": 1})
    assert "nosuch" in str(e.value)


def test_shipped_fragments_parse():
    from configs.profiles import list_fragments, resolve_fragment
    from pathlib import Path
    params = {"arch": "x86_64", "toolchain": "gcc", "debug": 2}
    for name in list_fragments():
        if name == "bpf":
            continue
        frags = resolve_fragment(name, Path("/nonexistent"), params)
        assert frags and frags[0].settings, name
