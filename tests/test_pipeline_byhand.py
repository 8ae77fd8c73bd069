"""reproduce.sh --by-hand: the generator (pipeline/byhand.py) from a job's typed
results, its script checked with bash -n, and its git and guest parts run for real."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from common.proc import Runner
from configs import ConfigResult
from kbuild import BuildRequest, KselftestRequest, SelftestsRequest
from patches.apply import ApplyResult, PatchRecord, apply_one
from patches.mailbox import read_patch_file
from patches.manifest import find_series
from patches.source import load_patches
from pipeline.byhand import (BOOT_FUNCTIONS, ByHandInputs, ByHandPlan, GroupStep, PatchStep,
                             SuiteStep, _fixup_items, _suite_lines, byhand_script, plan_byhand)
from pipeline.job import JobSpec
from pipeline.reproduce import write_reproducer
from selftests.suite import load_suite
from vm.boot import VMRequest

SUITES = ("kharness-fixture", "tap-smoke", "landlock", "smoke")


def _records(items) -> list[PatchRecord]:
    return [PatchRecord(i, it.name, it.subject, it.sha256, "clean", "c" * 40)
            for i, it in enumerate(items, 1)]


def fixture_items():
    series = find_series("kharness-fixture")
    return _fixup_items("debian-6.12"), load_patches(series, series.revision("v1"))


def fixture_inputs(tmp: Path, *, accel="tcg", **over) -> ByHandInputs:
    fixups, items = fixture_items()
    apply = ApplyResult("kharness-fixture", "v1", "debian-6.12", "v6.12.117", "b" * 40,
                        "f" * 40, "e" * 40, tmp / "wt", "key", "applied",
                        patches=_records(items), fixups=_records(fixups))
    cfg = tmp / "job-config"
    cfg.write_text("CONFIG_64BIT=y\nCONFIG_KHARNESS_MARK=y\n")
    config = ConfigResult(tmp / ".config", cfg, tmp / "r.txt", tmp / "r.json", "tinyconfig",
                          ["vm-min"], {}, [], [], 0.0)
    build = BuildRequest(tree=tmp / "wt", config=cfg, toolchain="llvm-19", w1=True,
                         make_flags=["KCFLAGS=-Wno-error"])
    args = dict(label="kharness-fixture@v1:small", apply=apply, config=config, build=build,
                selftests=SelftestsRequest(tmp / "wt", "kkey", "fam"),
                kselftest=KselftestRequest(tmp / "wt", ["landlock"], tmp / "ks"),
                vm=VMRequest(tmp / "bzImage", tmp / "rw", tmp / "console.log", cpus=1,
                             memory="512M", append=["lsm=landlock"]),
                accel=accel, suites=[load_suite(n) for n in SUITES],
                vng=Path("/opt/vng/bin/vng"))
    args.update(over)
    return ByHandInputs(**args)


def script_for(tmp: Path, **over) -> str:
    return byhand_script(plan_byhand(fixture_inputs(tmp, **over), tmp / "reproduce"))


def test_git_am_of_each_patch_in_order_from_copies(tmp_path):
    text = script_for(tmp_path)
    fixups, items = fixture_items()
    am = [ln for ln in text.splitlines() if " am --3way " in ln]
    assert len(am) == len(fixups) + len(items) == 3
    copies = [tmp_path / "reproduce" / ln.split('"$R"/', 1)[1] for ln in am]
    assert [c.read_text() for c in copies] == [i.message for i in fixups + items]
    assert "-fixup-" in copies[0].name and "fixup" not in copies[1].name
    assert text.index("worktree add -q --detach") < text.index(am[0])
    assert f"-C {Path.home()}" in text or "trees/debian-6.12 worktree add" in text
    assert "b" * 40 in text and "e" * 40 in text         # base, and the job's HEAD to check


def test_the_jobs_config_is_copied_and_no_tinyconfig(tmp_path):
    text = script_for(tmp_path)
    assert "tinyconfig" not in text
    assert not [ln for ln in text.splitlines() if ln.endswith((" defconfig", " allnoconfig"))]
    assert 'run cp "$R"/config "$BUILD/.config"' in text
    assert (tmp_path / "reproduce" / "config").read_text() == \
        (tmp_path / "job-config").read_text()
    old = next(ln for ln in text.splitlines() if ln.endswith(" olddefconfig"))
    assert '"O=${BUILD}"' in old and "ARCH=x86_64" in old and "LLVM=-19" in old
    assert text.index("run cp") < text.index(old)


def test_kernel_make_line_has_the_jobs_flags(tmp_path):
    text = script_for(tmp_path)
    make = next(ln for ln in text.splitlines() if '"-j${JOBS}"' in ln)
    for flag in ("ARCH=x86_64", "LLVM=-19", "W=1", "KCFLAGS=-Wno-error", '"O=${BUILD}"',
                 "KBUILD_BUILD_TIMESTAMP=2025-01-01"):
        assert flag in make
    assert "ccache" not in make


def test_selftests_make_lines(tmp_path):
    text = script_for(tmp_path)
    assert "CLANG=clang-19" in text and text.rstrip().count(" test_progs\n") == 1
    assert '"KBUILD_OUTPUT=${BUILD}"' in text and '"VMLINUX_BTF=${BUILD}/vmlinux"' in text
    assert "TARGETS=landlock" in text and " headers\n" in text


def test_no_selftests_lines_when_the_job_built_none(tmp_path):
    text = script_for(tmp_path, selftests=None, kselftest=None)
    assert "test_progs\n" not in text and "TARGETS=" not in text


def test_vng_line_and_fresh_home_and_key(tmp_path):
    text = script_for(tmp_path)
    vng = next(ln for ln in text.splitlines() if ln.startswith('HOME="$KH_HOME"'))
    for part in ('"${VNG}" --run "${KERNEL}"', "--cpus 1", "--memory 512M", "--disable-kvm",
                 '--ssh "${PORT}" --ssh-tcp', "--append root=/dev/root",
                 "--append lsm=landlock", '--rwdir "${RW}"', "--force-9p"):
        assert part in vng
    assert "KH_HOME=$(mktemp -d" in text and "ssh-keygen -q -t ed25519" in text
    assert "VNG=${VNG:-/opt/vng/bin/vng}" in text
    kvm = script_for(tmp_path, accel="kvm")
    assert "--disable-kvm" not in kvm and "--cpus 1" in kvm


def test_every_suites_guest_command(tmp_path):
    text = script_for(tmp_path)
    assert "'sh kernel_facts.sh'" in text
    assert 'CWD="${TREE}/tools/testing/selftests/kharness"' in text
    assert "'sh tap-smoke.sh'" in text
    assert "'./run_kselftest.sh -o 600 -c landlock'" in text
    assert "cp -a" in text and "CWD=/tmp/kharness-landlock" in text      # landlock: copy
    for test in load_suite("smoke").allow:
        assert f"'./test_progs -a {test}" in text
    assert text.index("prepare.sh") < text.index("kernel_facts.sh")
    assert (tmp_path / "reproduce" / "prepare.sh").is_file()


@pytest.mark.parametrize("over", [{}, {"accel": "kvm"}, {"config": None}, {"build": None},
                                  {"vm": None}, {"selftests": None, "kselftest": None}])
def test_script_is_valid_bash(tmp_path, over):
    path = tmp_path / "byhand.sh"
    path.write_text("set -euo pipefail\n" + script_for(tmp_path, **over))
    res = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_a_job_that_stopped_early_stops_there(tmp_path):
    text = script_for(tmp_path, config=None)
    assert " am --3way " in text and "olddefconfig" not in text and "make " not in text
    assert "stopped before its config stage" in text
    text = script_for(tmp_path, vm=None)
    assert '"-j${JOBS}"' in text and "vng" not in text.lower().split("make")[-1]
    assert "stopped before it booted" in text


def test_targets_only_build_has_no_boot(tmp_path):
    fx = fixture_inputs(tmp_path)
    fx.build.targets = ["fs/namei.o"]
    text = byhand_script(plan_byhand(fx, tmp_path / "reproduce"))
    assert '"-j${JOBS}"' in text and "fs/namei.o" in text and "ssh-keygen" not in text


def store(tmp: Path):
    tmp.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(path=tmp, job="j")


def test_write_reproducer_puts_the_by_hand_part_after_the_harness_line(tmp_path):
    path = write_reproducer(store(tmp_path / "job"), JobSpec(series="kharness-fixture",
                                                              rev="v1", profile="small"),
                            None, fixture_inputs(tmp_path))
    text = path.read_text()
    assert text.index('!= "--by-hand"') < text.index('exec "$PY"') < text.index(" am --3way ")
    assert (tmp_path / "job" / "reproduce" / "patches").is_dir()
    assert subprocess.run(["bash", "-n", str(path)]).returncode == 0


def test_write_reproducer_without_inputs_keeps_the_logged_commands(tmp_path):
    st = store(tmp_path)
    (tmp_path / "commands.log").write_text("make -C x olddefconfig\n")
    text = write_reproducer(st, JobSpec(), None).read_text()
    assert text.rstrip().endswith("make -C x olddefconfig")


def test_a_patch_changed_since_the_job_makes_the_by_hand_part_refuse(tmp_path):
    inp = fixture_inputs(tmp_path)
    inp.apply.patches[1].sha256 = "0" * 64
    path = write_reproducer(store(tmp_path / "job"), JobSpec(), None, inp)
    assert "changed since the job applied it" in path.read_text()
    res = subprocess.run(["bash", str(path), "--by-hand"], capture_output=True, text=True)
    assert res.returncode == 2 and "cannot reproduce" in res.stderr


# --- the generated git and guest parts, run for real ------------------------------------

def git(*args, cwd=None) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="a", GIT_AUTHOR_EMAIL="a@x", GIT_COMMITTER_NAME="a",
               GIT_COMMITTER_EMAIL="a@x", GIT_CONFIG_NOSYSTEM="1")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def patched_repo(tmp: Path) -> tuple[Path, str, Path]:
    """A repo with a base commit, and a mail patch (git format-patch) on top of it."""
    repo = tmp / "repo"
    repo.mkdir()
    git("init", "-q", str(repo))
    (repo / "f.txt").write_text("one\n")
    git("add", "f.txt", cwd=repo)
    git("commit", "-q", "-m", "base", cwd=repo)
    base = git("rev-parse", "HEAD", cwd=repo)
    (repo / "f.txt").write_text("one\ntwo\n")
    git("commit", "-q", "-am", "add two", "--date", "2001-02-03T04:05:06Z", cwd=repo)
    patch = Path(git("format-patch", "-1", "-o", str(tmp / "mails"), cwd=repo))
    git("reset", "-q", "--hard", base, cwd=repo)
    return repo, base, patch


def harness_head(tmp: Path, repo: Path, base: str, patch: Path) -> str:
    """What the harness's own apply (patches.apply.apply_one) commits for the patch."""
    wt = tmp / "harness-wt"
    git("worktree", "add", "-q", "--detach", str(wt), base, cwd=repo)
    rec = apply_one(Runner(), wt, read_patch_file(patch, author=None), 1)
    assert rec.status == "clean", rec.output
    return rec.commit


def test_generated_git_steps_make_the_same_commit_as_the_harness(tmp_path):
    repo, base, patch = patched_repo(tmp_path)
    head = harness_head(tmp_path, repo, base, patch)
    rdir = tmp_path / "reproduce"
    (rdir / "patches").mkdir(parents=True)
    (rdir / "patches" / "0001-x.patch").write_text(patch.read_text())
    plan = ByHandPlan("t", rdir, repo, base, head, [PatchStep("patches/0001-x.patch", "add two")],
                      stopped="test")
    work = tmp_path / "work"
    res = subprocess.run(["bash", "-c", "set -euo pipefail\n" + byhand_script(plan), "x",
                          "--by-hand", str(work)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    assert (work / "linux" / "f.txt").read_text() == "one\ntwo\n"
    assert "the same commits as the job" in res.stdout
    assert git("rev-parse", "HEAD", cwd=work / "linux") == head


def test_guest_run_quotes_the_command_as_the_harness_does(tmp_path):
    """guest_run with a stand-in `guest` that runs the remote line in a local bash:
    the cd, the prologue (TMPDIR) and the argv survive both quoting levels."""
    cwd = tmp_path / "dir with space"
    cwd.mkdir()
    (cwd / "t.sh").write_text('echo "ok 1 - $(pwd) TMPDIR=$TMPDIR arg=$1"\n')
    step = SuiteStep("s", str(cwd), False, [GroupStep("g1", ["sh", "t.sh", "a b'c"], 20)])
    script = "\n".join([BOOT_FUNCTIONS, 'guest() { bash -c "$*"; }',
                        "PROLOGUE='export TMPDIR=/tmp;'", f"OUT={tmp_path}/out",
                        *_suite_lines(step)])
    res = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    log = (tmp_path / "out" / "s" / "001-g1.log").read_text()
    assert log == f"ok 1 - {cwd} TMPDIR=/tmp arg=a b'c\n"
    assert "kh-byhand: 001-g1 exit 0" in res.stdout
