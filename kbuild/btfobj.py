"""The struct and union definitions a BPF object's own BTF holds, read from the
object file's `.BTF` section (ELF64, little endian; the format of the kernel's
Documentation/bpf/btf.rst).

Why: a BPF object compiled against vmlinux.h names in its BTF every type it
reaches, but a struct it only points through stays a forward declaration there
(clang emits `FWD 'ucounts'` for `struct cred`'s `ucounts` pointer when no
access goes into it). CO-RE can only relocate accesses into a type the object
defines, so a member change in a struct the object holds only as a FWD cannot
touch it. Going back from fanotify-bpf's kernel to iter-pagecache's, `struct
ucounts`' `ucount` array shrinks from 12 to 10: 193 of the 798 selftests objects
hold the name (as a FWD, or in DWARF), and none defines the struct.

Pure: bytes in, names out; ParseError on anything that is not such an object."""
from __future__ import annotations

import struct

from common.errors import ParseError

BTF_MAGIC = 0xEB9F
KIND_STRUCT, KIND_UNION = 4, 5
# bytes after the 12-byte btf_type, per kind: (fixed, per vlen entry)
_TRAILER = {1: (4, 0), 2: (0, 0), 3: (12, 0), 4: (0, 12), 5: (0, 12), 6: (0, 8),
            7: (0, 0), 8: (0, 0), 9: (0, 0), 10: (0, 0), 11: (0, 0), 12: (0, 0),
            13: (0, 8), 14: (4, 0), 15: (0, 12), 16: (0, 0), 17: (4, 0), 18: (0, 0),
            19: (0, 12)}


def btf_section(data: bytes, where: str = "object") -> bytes:
    """The `.BTF` section of an ELF64 little-endian object."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ParseError("not an ELF64 little-endian object", path=where)
    try:
        shoff, = struct.unpack_from("<Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
        heads = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
                 for i in range(shnum)]
        names_at = heads[shstrndx][4]
    except (struct.error, IndexError) as e:
        raise ParseError(f"truncated ELF section table ({e})", path=where) from None
    for name, _type, _flags, _addr, offset, size in heads:
        end = data.find(b"\0", names_at + name)
        if data[names_at + name:end] == b".BTF":
            if offset + size > len(data):
                raise ParseError("the .BTF section runs past the file's end", path=where)
            return data[offset:offset + size]
    raise ParseError("no .BTF section", path=where,
                     hint="BPF objects built with -g carry one; this one was not")


def defined_aggregates(data: bytes, where: str = "object") -> set[str]:
    """Names of the structs and unions the object's BTF defines (FWDs and
    anonymous ones are not)."""
    btf = btf_section(data, where)
    try:
        magic, _ver, _flags, hdr_len = struct.unpack_from("<HBBI", btf, 0)
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", btf, 8)
    except struct.error:
        raise ParseError("truncated .BTF header", path=where) from None
    if magic != BTF_MAGIC:
        raise ParseError(f".BTF magic {magic:#x}, not {BTF_MAGIC:#x}", path=where)
    types = btf[hdr_len + type_off:hdr_len + type_off + type_len]
    strings = btf[hdr_len + str_off:hdr_len + str_off + str_len]
    if len(types) != type_len or len(strings) != str_len:
        raise ParseError(".BTF types or strings run past the section", path=where)
    out: set[str] = set()
    at = 0
    while at < len(types):
        try:
            name_off, info, _size = struct.unpack_from("<III", types, at)
        except struct.error:
            raise ParseError(f"truncated BTF type at byte {at}", path=where) from None
        kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
        if kind not in _TRAILER:
            raise ParseError(f"unknown BTF kind {kind} at byte {at}", path=where)
        if kind in (KIND_STRUCT, KIND_UNION) and name_off:
            out.add(strings[name_off:strings.find(b"\0", name_off)].decode(errors="replace"))
        fixed, each = _TRAILER[kind]
        at += 12 + fixed + each * vlen
    if at != len(types):
        raise ParseError("the last BTF type runs past the type section", path=where)
    return out
