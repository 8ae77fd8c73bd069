"""kbuild.btfobj: the structs and unions a BPF object's BTF defines, read from a
recorded real selftests object (tests/data/bpfobj/README), and the rule it lets
btfdelta.reusable use: a member change matters to an object only when the
object defines the struct."""
import struct
from pathlib import Path

import pytest

from common.errors import ParseError
from kbuild.btfdelta import BtfDelta, Change, reusable
from kbuild.btfobj import btf_section, defined_aggregates

OBJ = Path(__file__).parent / "data" / "bpfobj" / "raw_tp_null.btf.o"
UCOUNT = Change("member type", "struct ucounts", "ucount",
                "atomic_long_t [12] -> atomic_long_t [10]")


def test_a_real_object_defines_what_it_reaches_and_not_what_it_only_points_to():
    data = OBJ.read_bytes()
    defs = defined_aggregates(data, str(OBJ))
    assert len(defs) == 78                        # as `bpftool btf dump file` lists them
    assert {"task_struct", "cred"} <= defs and "ucounts" not in defs
    assert b"\0ucounts\0" in btf_section(data)    # the name is there: a FWD


def _elf_without_btf() -> bytes:
    data = bytearray(OBJ.read_bytes())
    at = data.find(b".BTF\0")
    data[at:at + 4] = b".XYZ"                     # the section's name only
    return bytes(data)


def _btf_magic(value: int) -> bytes:
    data = OBJ.read_bytes()
    at = data.find(struct.pack("<H", 0xEB9F))
    return data[:at] + struct.pack("<H", value) + data[at + 2:]


@pytest.mark.parametrize("make, msg", [
    (lambda: b"int main(void) {}\n", "not an ELF64 little-endian object"),
    (lambda: OBJ.read_bytes()[:0x30], "truncated ELF section table"),
    (lambda: OBJ.read_bytes()[:-600], "truncated ELF section table|runs past"),
    (_elf_without_btf, "no .BTF section"),
    (lambda: _btf_magic(0x1234), "magic 0x1234"),
])
def test_what_is_not_a_bpf_object_with_btf_is_a_parse_error(make, msg):
    with pytest.raises(ParseError, match=msg) as e:
        defined_aggregates(make(), "x.bpf.o")
    assert e.value.path == "x.bpf.o"


@pytest.mark.parametrize("change, kept", [
    (UCOUNT, True),                               # ucounts: a FWD in the object
    (Change("member type", "struct cred", "ucounts", "struct ucounts * -> long"), False),
    (Change("removed member", "struct task_struct", "cred"), False),
])
def test_a_member_change_matters_only_to_an_object_that_defines_the_struct(
        tmp_path, change, kept):
    v = reusable(BtfDelta(breaking=(change,)), [], [OBJ])
    assert v.reusable == kept and v.reasons == (() if kept else (change,))


def test_an_object_whose_btf_cannot_be_read_is_judged_by_the_name(tmp_path):
    o = tmp_path / "odd.bpf.o"
    o.write_bytes(b"\0ucounts\0")                 # not ELF: the name decides, as before
    assert not reusable(BtfDelta(breaking=(UCOUNT,)), [], [OBJ, o]).reusable
