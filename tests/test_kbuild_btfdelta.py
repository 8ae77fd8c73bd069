"""btfdelta on real excerpts of bpftool dumps (tests/data/btf/README): what a BPF
object compiled against the older vmlinux.h cannot survive, and what it can."""
from pathlib import Path

import pytest

from common.errors import ParseError
from kbuild.btfdelta import ANY, BtfDelta, Change, compare, parse, reusable

DATA = Path(__file__).parent / "data" / "btf"


def pair(case: str, back: bool = False) -> tuple[str, str]:
    """(old, new) texts of a case: 6.12 then 6.18, or the other way round."""
    a, b = ((DATA / f"{case}.{v}.h").read_text() for v in ("6.12", "6.18"))
    return (b, a) if back else (a, b)


BIO_SHIFTED = ["QUIET", "CHAIN", "REFFED", "BPS_THROTTLED", "TRACE_COMPLETION", "CGROUP_ACCT",
               "QOS_THROTTLED", "QOS_MERGED", "REMAPPED", "ZONE_WRITE_PLUGGING",
               "EMULATES_ZONE_APPEND", "FLAG_LAST"]


@pytest.mark.parametrize("case, back, breaking, added", [
    # members moved (struct trace_seq's buffer went last): CO-RE relocates them
    ("reorder", False, [], (0, 0, 0, 0)),
    ("reorder", True, [], (0, 0, 0, 0)),
    # `long: 64` padding added around members: layout only
    ("padding", False, [], (0, 0, 0, 0)),
    ("padding", True, [], (0, 0, 0, 0)),
    ("member-added", False, [], (0, 1, 0, 0)),
    ("member-added", True, ["removed member struct audit_ntp_data.vals"], (0, 0, 0, 0)),
    # a member of an inline anonymous enum type went, and its enumerators with it
    ("inline-enum", False, ["removed member struct bpf_test_timer.mode",
                            "removed enumerator NO_PREEMPT", "removed enumerator NO_MIGRATE"],
     (0, 0, 0, 0)),
    ("inline-enum", True, [], (0, 1, 2, 0)),
    ("member-type", False, ["member type struct nft_payload.offset (u8 -> u16)"], (0, 0, 0, 0)),
    # an anonymous enum lost BIO_BOUNCED: every value after it moved down by one
    ("enum-values", False, ["removed enumerator BIO_BOUNCED"] + [
        f"enumerator value BIO_{n} ({v} -> {v - 1})" for v, n in enumerate(BIO_SHIFTED, 3)],
     (0, 0, 1, 0)),
    ("typedefs", False, ["typedef kprobe_opcode_t (u8 -> int)",
                         "typedef arch_spinlock_t (struct {...} -> struct qspinlock)"],
     (0, 0, 0, 0)),
    # msg_msgseg gets a definition (a member added); nvmem_cell keeps only its
    # forward declaration: every member it had is gone for an object
    ("definition", False, [f"removed member struct nvmem_cell.{m} (no definition)"
                           for m in ("entry", "id", "index")], (0, 1, 0, 0)),
    ("new-type", False, [], (1, 0, 0, 0)),
    # a type gone is one change, its name: its members only matter through it
    ("new-type", True, ["removed type struct bpf_res_spin_lock"], (0, 0, 0, 0)),
    ("kfuncs", False, [], (0, 0, 0, 3)),
    ("kfuncs", True, [f"removed kfunc {f}" for f in (
        "bpf_cpumask_create", "bpf_rcu_read_lock", "bpf_task_from_pid")], (0, 0, 0, 0)),
])
def test_compare_real_dump_excerpts(case, back, breaking, added):
    delta = compare(*pair(case, back))
    assert sorted(c.text() for c in delta.breaking) == sorted(breaking)
    assert (delta.types_added, delta.members_added, delta.enumerators_added,
            delta.functions_added) == added


@pytest.mark.parametrize("case", ["inline-enum", "enum-values", "kfuncs", "definition"])
def test_a_dump_against_itself_is_no_change(case):
    old, _ = pair(case)
    assert compare(old, old) == BtfDelta()


@pytest.mark.parametrize("line, member, text", [
    ("char comm[16];", "comm", "char [16]"),
    ("enum nft_payload_bases base: 8;", "base", "enum nft_payload_bases : 8"),
    ("int (*writepage)(struct page *, struct writeback_control *);", "writepage",
     "int (*)(struct page *, struct writeback_control *)"),
    ("long unsigned int swap_lock __attribute__((aligned(64)));", "swap_lock",
     "long unsigned int"),
    ("struct {\n\t\tu8 a;\n\t} __attribute__((packed)) irq[4];", "irq", "struct {...} [4]"),
])
def test_member_declarations(line, member, text):
    """Lines as bpftool writes them: the member's name and its type without it."""
    dump = parse(f"struct s {{\n\t{line}\n\tlong: 64;\n}};\n")
    assert dump.aggregates["struct s"][member] == text
    assert len(dump.aggregates["struct s"]) == 1 + ("irq" in line)    # padding is no member


@pytest.mark.parametrize("line, name, text", [
    ("typedef const char (* const ethnl_string_array_t)[32];", "ethnl_string_array_t",
     "const char (* const )[32]"),
    ("typedef void text_poke_f(void *, const void *, size_t);", "text_poke_f",
     "void (void *, const void *, size_t)"),
    ("typedef __int128 unsigned __u128;", "__u128", "__int128 unsigned"),
    ("typedef struct {\n\tint counter;\n} atomic_t;", "atomic_t", "struct {...}"),
])
def test_typedefs(line, name, text):
    dump = parse(line + "\n")
    assert dump.typedefs[name] == text and not dump.other


def test_unbalanced_braces_are_a_parse_error():
    with pytest.raises(ParseError):
        compare("struct a {\n\tint x;\n", "struct a {\n\tint x;\n};\n")


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "prog.c"
    p.write_text(text)
    return p


def obj(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "prog.bpf.o"
    p.write_bytes(data)
    return p


@pytest.mark.parametrize("source, strings, named", [
    # the member's struct in an object's strings: the removed member matters
    ("", b"\x7fELF\0bpf_test_timer\0mode\0", ["mode"]),
    # a source spelling the member, with no object holding its struct, does not
    ("int x = t->mode;", b"\0mode\0", []),
    ("int x = t->mode;", b"\0bpf_test_timer_x\0xbpf_test_timer\0", []),  # whole strings
    # enumerators leave no trace in an object: the sources decide
    ("if (v == NO_MIGRATE) return 0;", b"", ["NO_MIGRATE"]),
    ("int modes = t->mode_x; /* NO_MIGRATEd */", b"", []),   # whole words only
    ("", b"", []),
])
def test_reusable_unless_a_kept_object_or_a_source_has_a_breaking_change(
        tmp_path, source, strings, named):
    delta = compare(*pair("inline-enum"))
    v = reusable(delta, [write(tmp_path, source), tmp_path / "gone.h"],
                 [obj(tmp_path, strings), tmp_path / "gone.bpf.o"])
    assert v.reusable == (not named)
    assert [c.name for c in v.reasons] == named


@pytest.mark.parametrize("strings, kept", [
    (b"\0nft_payload\0offset\0", False),
    (b"\0offset\0", True),                 # the member's name alone: another struct's
])
def test_a_member_type_change_is_read_from_its_struct(tmp_path, strings, kept):
    delta = compare(*pair("member-type"))
    assert [c.text() for c in delta.breaking] == ["member type struct nft_payload.offset "
                                                  "(u8 -> u16)"]
    v = reusable(delta, [write(tmp_path, "int o = p->offset;")], [obj(tmp_path, strings)])
    assert v.reusable == kept


@pytest.mark.parametrize("called, kept", [
    (b"\0bpf_task_from_pid\0", False),
    (b"\0bpf_task_from_pid_x\0", True),
])
def test_a_removed_kfunc_matters_to_an_object_that_calls_it(tmp_path, called, kept):
    delta = compare(*pair("kfuncs", back=True))
    assert "removed kfunc bpf_task_from_pid" in [c.text() for c in delta.breaking]
    v = reusable(delta, [write(tmp_path, "bpf_task_from_pid(1);")], [obj(tmp_path, called)])
    assert v.reusable == kept


def test_no_breaking_change_reads_no_source(tmp_path):
    assert reusable(compare(*pair("new-type")), [tmp_path / "absent.c"], []).reusable


def test_a_declaration_not_understood_always_matters(tmp_path):
    delta = BtfDelta(breaking=(Change("declaration", "int x[", ANY),))
    assert not reusable(delta, [write(tmp_path, "")], []).reusable


@pytest.mark.parametrize("was, now, longer", [
    ("atomic_long_t ucount[10];", "atomic_long_t ucount[12];", True),     # fanotify on
    ("struct lsm_static_call inode_unlink[4];", "struct lsm_static_call inode_unlink[5];",
     True),                                                                # Landlock on
    ("int b[3][4];", "int b[5][4];", True),              # the outer length only
    ("int b[3][4];", "int b[3][5];", False),             # an inner one moves elements
    ("atomic_long_t ucount[12];", "atomic_long_t ucount[10];", False),   # shorter
    ("long ucount[10];", "int ucount[12];", False),      # another element type
    ("int x;", "int x[2];", False),
])
def test_an_array_member_that_only_grew_is_not_breaking(was, now, longer):
    delta = compare(f"struct ucounts {{\n\tint a;\n\t{was}\n}};\n",
                    f"struct ucounts {{\n\tint a;\n\t{now}\n}};\n")
    assert (delta.arrays_longer, not delta.breaking) == (int(longer), longer)
    assert delta.added() == ("nothing added, 1 array longer" if longer else "nothing added")
