"""Kernel splats (results/splat.py): kinds, titles, frames, fingerprints, attach."""
import re
from pathlib import Path

import pytest

from results.splat import attach_splats, find_splats, normalize_title, strip_prefix

LOGS = Path(__file__).parent / "data" / "logs"


def lines(name):
    return (LOGS / name).read_text().splitlines()


def by_kind(splats):
    return {s.kind: s for s in splats}


def test_every_kind_in_a_dmesg():
    found = find_splats(lines("dmesg-6.12-splats.txt"))
    assert [s.kind for s in found] == ["kasan", "lockdep", "rcu_stall", "hung_task",
                                       "soft_lockup", "kmemleak", "ubsan", "hard_lockup", "bug"]
    assert [s.line for s in found] == [2, 27, 62, 79, 91, 105, 116, 127, 140]
    assert len({s.fingerprint for s in found}) == len(found)


@pytest.mark.parametrize("kind,title,frames", [
    ("kasan", "slab-use-after-free in bpf_iter_task_next",
     ["bpf_iter_task_next", "bpf_prog_dump_task", "bpf_iter_run_prog", "bpf_seq_read"]),
    ("lockdep", "possible circular locking dependency detected",
     ["down_read", "bpf_iter_path_next", "bpf_seq_read"]),
    ("rcu_stall", "rcu_preempt self-detected stall on CPU",
     ["bpf_loop", "bpf_prog_stack_check", "bpf_prog_test_run_syscall", "__sys_bpf"]),
    ("hung_task", "kworker/N blocked for more than N",
     ["__schedule", "schedule", "synchronize_rcu_expedited", "bpf_map_free_deferred"]),
    ("soft_lockup", "soft lockup - CPU#N stuck for N! [comm]",
     ["bpf_loop", "bpf_prog_stack_check", "bpf_prog_test_run_syscall"]),
    ("kmemleak", "unreferenced object X (size N)",
     ["__kmalloc_cache_noprof", "bpf_map_kmalloc_node", "htab_map_alloc"]),
    ("ubsan", "array-index-out-of-bounds in kernel/bpf/verifier.c",
     ["check_stack_write_fixed_off", "do_check_common"]),
    ("hard_lockup", "hard LOCKUP on CPU#N",
     ["native_queued_spin_lock_slowpath", "_raw_spin_lock", "htab_lock_bucket"]),
    ("bug", "sleeping function called from invalid context at kernel/locking/mutex.c",
     ["__might_resched", "__mutex_lock", "bpf_trampoline_link_prog"]),
])
def test_titles_and_frames(kind, title, frames):
    s = by_kind(find_splats(lines("dmesg-6.12-splats.txt")))[kind]
    assert s.title == title and s.frames == frames


def test_excerpts_end_where_the_report_ends():
    found = by_kind(find_splats(lines("dmesg-6.12-splats.txt")))
    assert found["kasan"].excerpt[-1] == "=================================================================="
    assert found["lockdep"].excerpt[-1] == " </TASK>"
    assert found["kmemleak"].excerpt[-1] == "    htab_map_alloc+0x23a/0x4f0"
    assert found["ubsan"].excerpt[0] == "------------[ cut here ]------------"
    assert found["ubsan"].excerpt[-1] == "---[ end trace ]---"
    assert found["kasan"].excerpt[1] == "Read of size 8 at addr ffff888104a5d010 by task test_progs/412"


def test_same_splat_in_another_run_has_the_same_fingerprint():
    first = find_splats(lines("dmesg-6.12-splats.txt"))
    changes = [(r"\[\s*(\d+)\.(\d+)\]", lambda m: f"[{int(m.group(1)) + 500:5d}.{m.group(2)}]"),
               (r"0xffff8881[0-9a-f]{8}", lambda m: "0xffff888177777777"),
               (r"ffff8881[0-9a-f]{8}", lambda m: "ffff888166666666"),
               (r"\+0x[0-9a-f]+/", lambda m: "+0x99/"), (r"PID: \d+", lambda m: "PID: 4242"),
               (r"CPU: \d", lambda m: "CPU: 3"), (r"CPU#1", lambda m: "CPU#0"),
               (r"test_progs:601", lambda m: "test_progs:999"), (r"kworker/1:2:77", lambda m:
                                                                   "kworker/0:1:12"),
               (r"122 seconds", lambda m: "245 seconds"), (r"stuck for 23s", lambda m:
                                                          "stuck for 48s"),
               (r"verifier.c:4120:9", lambda m: "verifier.c:4133:17"),
               (r"_[0-9a-f]{16}_", lambda m: "_0123456789abcdef_"), (r"size 64", lambda m:
                                                                      "size 128"),
               (r"mutex.c:585", lambda m: "mutex.c:590")]
    text = lines("dmesg-6.12-splats.txt")
    for rx, fn in changes:
        text = [re.sub(rx, fn, x) for x in text]
    again = find_splats(text)
    assert text != lines("dmesg-6.12-splats.txt")
    assert [s.fingerprint for s in again] == [s.fingerprint for s in first]


def test_different_warnings_differ_and_noise_does_not_matter():
    a = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 foo+0x1/0x2", "Call Trace:",
                     " <TASK>", " x+0x1/0x2", " </TASK>"])
    b = find_splats(["WARNING: CPU: 3 PID: 7 at fs/a.c:99 foo+0x5/0x9", "Call Trace:",
                     " <TASK>", " ? y+0x1/0x2", " x+0x4/0x8", " </TASK>"])
    c = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 bar+0x1/0x2"])
    d = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 foo+0x1/0x2", "Call Trace:",
                     " <TASK>", " z+0x1/0x2", " </TASK>"])
    assert a[0].fingerprint == b[0].fingerprint
    assert len({a[0].fingerprint, c[0].fingerprint, d[0].fingerprint}) == 3


def test_null_deref_bug_and_its_oops_are_one_splat_then_the_panic():
    found = find_splats(lines("test_progs-6.12-verbose-oops.log"))
    assert [(s.kind, s.line) for s in found] == [("bug", 16), ("panic", 46)]
    bug = found[0]
    assert bug.title == "kernel NULL pointer dereference, address: X"
    assert bug.frames[:4] == ["task_vma_seq_get_next", "task_vma_seq_start", "bpf_seq_read",
                              "vfs_read"]
    assert "Oops: Oops: 0000 [#1] PREEMPT SMP NOPTI" in bug.excerpt
    assert bug.excerpt[-1] == "---[ end trace 0000000000000000 ]---"
    assert found[1].title == "Fatal exception"


def test_general_protection_fault_and_kernel_bug_at():
    gpf = find_splats(lines("kunit-6.12-crash.log"))[0]
    assert gpf.kind == "oops"
    assert gpf.title == "general protection fault, probably for non-canonical address X: " \
                        "0000 [#N] PREEMPT SMP NOPTI"
    assert gpf.frames[:2] == ["__list_del_entry_valid_or_report", "list_test_list_add"]
    kbug = find_splats(["kernel BUG at mm/slub.c:456!",
                        "Oops: invalid opcode: 0000 [#1] PREEMPT SMP NOPTI",
                        "RIP: 0010:kfree+0x1/0x2", "---[ end trace 0000000000000000 ]---"])
    assert [(s.kind, s.title, s.frames) for s in kbug] == [("bug", "mm/slub.c", ["kfree"])]


def test_boot_panic():
    (sp,) = find_splats(lines("console-boot-panic.log"))
    assert sp.kind == "panic" and sp.title.startswith("No working init found")
    assert sp.frames == ["kernel_init", "ret_from_fork"]
    assert sp.excerpt[-1].startswith("---[ end Kernel panic")


@pytest.mark.parametrize("raw,text", [
    ("[   12.345678] BUG: x", "BUG: x"), ("<4>[   12.345678][  T412] BUG: x", "BUG: x"),
    ("# [    5.1] BUG: x", "BUG: x"), ("# # [    5.1] BUG: x", "BUG: x"),
    ("Nov 23 07:54:05 vm kernel: BUG: x", "BUG: x"), ("BUG: x\r\n", "BUG: x"),
    ("[   12.345678]  dump_stack_lvl+0x5d/0x80", " dump_stack_lvl+0x5d/0x80"),
])
def test_prefixes(raw, text):
    assert strip_prefix(raw) == text


def test_lockdep_headlines():
    heads = ["WARNING: inconsistent lock state", "WARNING: possible recursive locking detected",
             "WARNING: suspicious RCU usage", "WARNING: bad unlock balance detected!",
             "WARNING: HARDIRQ-safe -> HARDIRQ-unsafe lock order detected",
             "WARNING: test_progs/77 still has locks held!",
             "WARNING: lock held when returning to user space!"]
    found = find_splats(heads)
    assert [s.kind for s in found] == ["lockdep"] * len(heads)
    assert found[5].title == "test_progs/N still has locks held"


@pytest.mark.parametrize("title,want", [
    ("CPU#3 stuck for 22s! [kworker/3:1:55]", "CPU#N stuck for N! [comm]"),
    ("scheduling while atomic: test_progs/412/0x00000002", "scheduling while atomic: "
                                                           "test_progs/N/X"),
    ("workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!",
     "workqueue lockup - pool cpus=N node=N flags=X nice=N stuck for N"),
    ("Bad page state in process test_progs  pfn:1a2b3", "Bad page state in process test_progs "
                                                        "pfn:X"),
])
def test_normalize_title(title, want):
    assert normalize_title(title) == want


def test_kmemleak_report_ends_at_an_unindented_line():
    found = find_splats(["unreferenced object 0xffff888100000000 (size 32):",
                         "  backtrace (crc 1):", "    a+0x1/0x2", "ok 1 next test"])
    assert found[0].excerpt[-1] == "    a+0x1/0x2" and found[0].frames == ["a"]


def test_truncated_splat_is_kept():
    (sp,) = find_splats(["WARNING: CPU: 0 PID: 1 at fs/a.c:10 foo+0x1/0x2", "Call Trace:",
                         " <TASK>", " foo+0x1/0x2"])
    assert sp.kind == "warning" and sp.frames == ["foo"]


def test_long_splat_is_capped():
    found = find_splats(["BUG: KASAN: x in y"] + [f" f{i}+0x1/0x2" for i in range(300)])
    assert len(found) == 1 and len(found[0].excerpt) == 80


def test_attach_to_the_running_test():
    raw = ["# [   5.1] Kernel panic - not syncing: sysrq triggered crash",
           "<0>[   5.2] Call Trace:", "# [   5.3]  sysrq_handle_crash+0x15/0x20"]
    (sp,) = find_splats(raw)
    assert sp.frames == ["sysrq_handle_crash"]
    attach_splats([sp], [(9, "later"), (0, "first"), (1, "second")])
    assert sp.test == "second"
    attach_splats([sp], [(1, "")])
    assert sp.test is None


def test_plain_output_has_no_splats():
    assert find_splats(["ok 1 a", "BUGS: none", "WARNING about nothing", "Oops"]) == []
