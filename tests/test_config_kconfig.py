"""The Kconfig reader on the fixture tree (tests/data/kconfig)."""
from pathlib import Path

from configs.kconfig import KconfigTree

FIX = Path(__file__).parent / "data" / "kconfig"


def tree(arch="x86_64"):
    return KconfigTree(FIX, arch)


def test_follows_source_with_srcarch_and_skips_help_text():
    t = tree()
    assert "arch/x86/Kconfig" in t.files and "arch/arm64/Kconfig" not in t.files
    assert t.defined("X86_ONLY_FEATURE") and not t.defined("ARM64_ONLY_FEATURE")
    assert not t.defined("NOT_A_SYMBOL")
    assert tree("arm64").defined("ARM64_ONLY_FEATURE")


def test_depends_joined_over_continuation_lines():
    (d,) = tree().defs["KASAN"]
    assert d.depends == ["HAVE_ARCH_KASAN && !SLUB_TINY"]
    assert d.enclosing == [("menu at Kconfig:22", "DEBUG_KERNEL")]
    assert (d.path, d.line, d.type, d.has_prompt) == ("Kconfig", 25, "bool", True)


def test_if_around_source_reaches_sourced_file_and_prompt_if():
    (d,) = tree().defs["INET"]
    assert d.enclosing == [("if at Kconfig:70", "NET")]
    assert d.prompt_if == ["EXPERT"]


def test_multiple_depends_and_choice_membership():
    (t,) = tree().defs["TESTMOD"]
    assert t.depends == ["MODULES", "NET || BPF"] and t.type == "tristate"
    (d4,) = tree().defs["DWARF4"]
    assert d4.in_choice == "Kconfig:59"


def test_selectors_with_conditions():
    sel = tree().selectors
    assert [(s.by, s.cond) for s in sel["BPF"]] == [("BPF_SYSCALL", None)]
    assert [(s.by, s.cond) for s in sel["FORCED"]] == [("FORCER", "NET")]
    assert [s.by for s in sel["HAVE_ARCH_KASAN"]] == ["X86"]
    (b,) = tree().defs["BPF"]
    assert not b.has_prompt


def test_defined_elsewhere_finds_other_arch():
    assert tree().defined_elsewhere("ARM64_ONLY_FEATURE") == ["arch/arm64/Kconfig"]
    assert tree().defined_elsewhere("NO_SUCH_THING") == []
