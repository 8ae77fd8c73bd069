"""Verification against the final .config, explained with the fixture Kconfig."""
from pathlib import Path

from configs.fragment import parse_fragment_text
from configs.kconfig import KconfigTree
from configs.merge import merge_fragments
from configs.verify import (CHANGED, DROPPED, NO_EFFECT, OK, OVERRIDDEN, UNDEFINED, compare,
                            explain, report_text)

FIX = Path(__file__).parent / "data" / "kconfig"


def run(frag_text, final, allow=()):
    merged, conflicts = merge_fragments([parse_fragment_text(frag_text, "f.config")])
    checks = compare(merged, final, set(allow))
    explain(checks, KconfigTree(FIX, "x86_64"), final)
    return {c.symbol: c for c in checks}, conflicts, checks


def test_as_asked_is_ok_and_absent_n_is_ok():
    got, _, _ = run("CONFIG_NET=y\n# CONFIG_SLUB_TINY is not set\nCONFIG_LOG_LEVEL=0x5\n",
                    {"NET": "y", "LOG_LEVEL": "5"})
    assert {s: c.status for s, c in got.items()} == {"NET": OK, "SLUB_TINY": OK,
                                                      "LOG_LEVEL": OK}


def test_dropped_symbol_names_unmet_terms():
    final = {"DEBUG_KERNEL": "y", "SLUB_TINY": "y", "X86": "y", "HAVE_ARCH_KASAN": "y"}
    got, _, checks = run("CONFIG_KASAN=y\n", final)
    c = got["KASAN"]
    assert c.status == DROPPED and c.failed
    assert c.unmet == ["!SLUB_TINY [=y]"]
    assert "depends on: HAVE_ARCH_KASAN [=y] && <<!SLUB_TINY [=y]>>" in c.explain
    assert "defined at Kconfig:25 (bool, has a prompt)" in c.explain
    text = report_text(checks, [], ["tinyconfig", "f.config"])
    assert "FAIL CONFIG_KASAN: requested y (f.config:1), final n [dropped]" in text
    assert "unmet: !SLUB_TINY [=y]" in text


def test_enclosing_menu_and_if_conditions_are_checked():
    got, _, _ = run("CONFIG_KASAN=y\nCONFIG_INET=y\n", {"HAVE_ARCH_KASAN": "y"})
    assert "DEBUG_KERNEL [=n]" in got["KASAN"].unmet
    assert set(got["INET"].unmet) == {"NET [=n]", "EXPERT [=n]"}


def test_tristate_limited_to_m_is_changed_with_the_m_term():
    got, _, _ = run("CONFIG_TESTMOD=y\n", {"TESTMOD": "m", "MODULES": "y", "NET": "n",
                                          "BPF": "m"})
    c = got["TESTMOD"]
    assert c.status == CHANGED
    assert c.unmet == ["NET [=n]", "BPF [=m]"]
    assert "depends on: <<NET [=n]>> || <<BPF [=m]>>" in c.explain


def test_requested_off_but_selected_names_the_selector():
    got, _, _ = run("# CONFIG_FORCED is not set\n", {"FORCED": "y", "FORCER": "y", "NET": "y"})
    c = got["FORCED"]
    assert c.status == CHANGED
    assert any("selected by FORCER [=y] if NET" in e and "forces it on" in e for e in c.explain)


def test_typo_is_undefined_with_close_matches():
    got, _, checks = run("CONFIG_BPF_SYSCAL=y\nCONFIG_NOSUCH_OFF=n\n", {})
    c = got["BPF_SYSCAL"]
    assert c.status == UNDEFINED and c.failed
    assert c.close_matches == ["BPF_SYSCALL"]
    assert any("did you mean: CONFIG_BPF_SYSCALL" in e for e in c.explain)
    assert got["NOSUCH_OFF"].status == NO_EFFECT and not got["NOSUCH_OFF"].failed


def test_symbol_of_another_arch_is_reported_as_such():
    got, _, _ = run("CONFIG_ARM64_ONLY_FEATURE=y\n", {})
    c = got["ARM64_ONLY_FEATURE"]
    assert c.status == UNDEFINED
    assert "arch/arm64/Kconfig" in c.explain[0]


def test_allow_drop_accepts_the_miss():
    got, _, checks = run("CONFIG_KASAN=y\n", {}, allow=["KASAN"])
    assert got["KASAN"].status == DROPPED and got["KASAN"].allowed and not got["KASAN"].failed
    assert "ALLOWED CONFIG_KASAN" in report_text(checks, [], [])


def test_choice_member_overridden_by_a_later_request_is_a_conflict_not_a_failure():
    got, _, checks = run("CONFIG_DWARF4=y\nCONFIG_DWARF5=y\n", {"DWARF5": "y"})
    assert got["DWARF4"].status == OVERRIDDEN and not got["DWARF4"].failed
    assert "conflict: CONFIG_DWARF4=y (f.config:1)" in report_text(checks, [], [])
