"""Merge order, conflicts, and applying requested values to a base .config."""
from configs.fragment import parse_fragment_text
from configs.merge import apply_settings, merge_fragments, read_dotconfig


def frag(name, text):
    return parse_fragment_text(text, name)


def test_later_fragment_wins_and_conflict_names_both():
    a = frag("a.config", "CONFIG_X=y\nCONFIG_Y=y\n")
    b = frag("b.config", "CONFIG_Z=m\n# CONFIG_X is not set\n")
    merged, conflicts = merge_fragments([a, b])
    assert merged["X"].value == "n" and merged["X"].where() == "b.config:2"
    assert len(conflicts) == 1
    c = conflicts[0]
    assert (c.symbol, c.loser.where(), c.winner.where()) == ("X", "a.config:1", "b.config:2")
    assert "a.config:1" in c.describe() and "b.config:2" in c.describe()
    merged2, _ = merge_fragments([b, a])
    assert merged2["X"].value == "y"


def test_same_value_twice_is_no_conflict():
    merged, conflicts = merge_fragments([frag("a", "CONFIG_X=y\n"), frag("b", "CONFIG_X=y\n")])
    assert conflicts == [] and merged["X"].where() == "b:1"


def test_merged_order_follows_last_setting():
    merged, _ = merge_fragments([frag("a", "CONFIG_A=y\nCONFIG_B=y\n"), frag("b", "CONFIG_A=y\n")])
    assert list(merged) == ["B", "A"]


def test_apply_settings_replaces_and_appends_in_merge_order():
    base = ("# header\nCONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=m\nCONFIG_KEEP=y\n")
    merged, _ = merge_fragments([frag("f", "CONFIG_C=y\nCONFIG_B=y\nCONFIG_NEW=\"s\"\n")])
    out = apply_settings(base, merged)
    vals = read_dotconfig(out)
    assert vals == {"A": "y", "B": "y", "C": "y", "KEEP": "y", "NEW": '"s"'}
    lines = out.splitlines()
    assert lines.index("CONFIG_C=y") < lines.index("CONFIG_B=y") < lines.index('CONFIG_NEW="s"')
    assert lines.index("CONFIG_KEEP=y") < lines.index("CONFIG_C=y")
    assert out.count("CONFIG_B") == 1


def test_read_dotconfig_not_set_is_n():
    assert read_dotconfig("# CONFIG_X is not set\nCONFIG_Y=m\n# plain comment\n") == \
        {"X": "n", "Y": "m"}
