"""`reproduce.sh --by-hand`: the job's own steps as a plain bash script, no harness.

Two parts. `plan_byhand(inputs, rdir)` reads the typed results the job produced
(ApplyResult, ConfigResult, the build/selftests/kselftest requests, the VMRequest,
the suites) and copies what the script needs into `rdir` (<job>/reproduce/): each
patch exactly as `git am` got it, the job's verified .config, the guest's
prepare.sh. `byhand_script(plan)` is a pure function from that plan to the text:

  1. a git worktree of the tree at the job's base commit, `git am` of each tree
     fix-up and then each patch of the series (same flags and identity as the
     harness, so the commits come out identical; the script says whether HEAD
     matches the job's);
  2. the job's .config copied in, `make olddefconfig` (the fragment merge is
     written out: the .config is its result), and a check it did not change;
  3. the kernel make line with the job's flags (ARCH, LLVM=, W=1, ...), then the
     bpf selftests and kselftest make lines when the job built them;
  4. the vng boot line with a fresh HOME (mktemp) and an ssh key made by
     ssh-keygen, the guest host key pinned, and each suite's guest commands over
     `ssh`, each under `timeout -s KILL` as the harness runs them.

Where it differs from the harness, on purpose: no ccache; test_progs suites with
an empty allow list run in one invocation (the harness lists the tests in the
guest and batches them); no retries; dmesg is read once at the end.
"""
from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.errors import InputError
from common.fsutil import atomic_write

# Placeholders for paths the script only knows when it runs: a token holding
# @@NAME@@ becomes "${NAME}" in the script.
PH = {n: f"@@{n}@@" for n in ("TREE", "BUILD", "BPF", "KSELFTEST", "KERNEL", "VNG", "RW",
                              "PORT", "JOBS")}
PH_RE = re.compile(r"@@([A-Z]+)@@")
DEFAULT_BOOT_TIMEOUT = 300        # seconds from vng start to an ssh login (TCG is slow)


@dataclass
class ByHandInputs:
    """What the job produced, as typed objects (any of them None when the job
    stopped before that stage)."""
    label: str
    apply: object | None = None           # patches.apply.ApplyResult
    checkout: Path | None = None          # the job's git checkout (spec.worktree): the
                                          # repo to start from instead of the tree's
    checkout_head: str | None = None
    config: object | None = None          # configs.ConfigResult
    build: object | None = None           # kbuild.BuildRequest (tree, toolchain, flags)
    selftests: object | None = None       # kbuild.SelftestsRequest
    kselftest: object | None = None       # kbuild.KselftestRequest
    vm: object | None = None              # vm.boot.VMRequest
    accel: str | None = None              # the accelerator the job's VM ran with
    suites: list = field(default_factory=list)        # selftests.suite.Suite
    selections: dict = field(default_factory=dict)    # suite name -> Selection it ran with
    vng: Path | None = None               # default: vm.vng.find_vng()


@dataclass
class PatchStep:
    file: str            # relative to the reproduce dir
    subject: str
    strip: int = 1
    kind: str = "patch"  # patch or fix-up


@dataclass
class GroupStep:
    label: str
    argv: list[str]
    timeout: int


@dataclass
class SuiteStep:
    name: str
    cwd: str             # may hold placeholders (@@TREE@@/...)
    copy: bool
    groups: list[GroupStep]


@dataclass
class ByHandPlan:
    label: str
    rdir: Path                                   # <job>/reproduce
    repo: Path                                   # the git repo the worktree comes from
    base: str                                    # commit to start from
    head: str | None = None                      # the job's HEAD after its patches
    patches: list[PatchStep] = field(default_factory=list)
    config: str | None = None                    # file in rdir: the job's .config
    olddefconfig: list[str] = field(default_factory=list)
    kernel: list[str] = field(default_factory=list)     # the make line
    build_env: dict = field(default_factory=dict)
    image: str | None = None                     # the bzImage, relative to the build dir
    selftests: list[list[str]] = field(default_factory=list)   # make lines, in order
    vng: list[str] = field(default_factory=list)
    suites: list[SuiteStep] = field(default_factory=list)
    prepare: str | None = None                   # file in rdir: the guest's prepare.sh
    quiet_shell: str = ""
    prologue: str = ""
    vng_path: str = ""                           # default for $VNG
    stopped: str | None = None                   # why the job's steps end early


# --- from the job's typed results to a plan (copies files into rdir) ---------------

def plan_byhand(inp: ByHandInputs, rdir: Path) -> ByHandPlan:
    rdir = Path(rdir)
    rdir.mkdir(parents=True, exist_ok=True)
    plan = _source_plan(inp, rdir)
    steps = (_config_step, _build_step, _selftests_step, _vm_step, _suites_step)
    for step in steps:
        why = step(inp, plan)
        if why:
            plan.stopped = why
            break
    return plan


def _source_plan(inp: ByHandInputs, rdir: Path) -> ByHandPlan:
    if inp.apply is None:
        if inp.checkout is None or not inp.checkout_head:
            raise InputError("by-hand reproducer: the job has no apply result and no checkout")
        return ByHandPlan(inp.label, rdir, Path(inp.checkout), inp.checkout_head,
                          inp.checkout_head)
    from patches.treeimport import tree_repo
    a = inp.apply
    plan = ByHandPlan(inp.label, rdir, inp.checkout or tree_repo(a.tree), a.base_commit,
                      a.head if a.status == "applied" else None)
    plan.patches = copy_patches(a, rdir / "patches")
    return plan


def copy_patches(apply, dest: Path) -> list[PatchStep]:
    """Each patch the job applied (fix-ups first), written to `dest` exactly as
    `git am` got it. InputError when a patch on disk changed since the job."""
    shutil.rmtree(dest, ignore_errors=True)
    steps = []
    fixups = _fixup_items(apply.tree) if apply.fixups else []
    series = _series_items(apply) if apply.patches else []
    for kind, records, items in (("fix-up", apply.fixups, fixups),
                                 ("patch", apply.patches, series)):
        for rec in records:
            steps.append(_copy_one(kind, rec, items, dest, len(steps) + 1))
    return steps


def _fixup_items(tree: str) -> list:
    """The tree's fix-ups, read as patches.apply reads them."""
    from patches.mailbox import read_patch_file
    from patches.treedefs import tree_extras
    return [read_patch_file(f.path, author=None) for f in tree_extras(tree).fixups]


def _series_items(apply) -> list:
    from patches.manifest import find_series
    from patches.source import load_patches
    series = find_series(apply.series)
    return load_patches(series, series.revision(apply.rev))


def _copy_one(kind: str, rec, items: list, dest: Path, n: int) -> PatchStep:
    from patches.mailbox import ENC
    item = next((i for i in items if i.sha256 == rec.sha256), None)
    if item is None:
        raise InputError(f"{kind} {rec.index} ({rec.name}) changed since the job applied it")
    stem = _safe(re.sub(r"^\d+-", "", item.name))
    name = f"{n:04d}-{'fixup-' if kind == 'fix-up' else ''}{stem}"
    if not name.endswith(".patch"):
        name += ".patch"
    atomic_write(dest / name, item.message.encode("utf-8", ENC))
    return PatchStep(f"{dest.name}/{name}", item.subject, item.strip, kind)


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._+-]+", "_", text).strip("_")[:70] or "patch"


def _config_step(inp: ByHandInputs, plan: ByHandPlan) -> str | None:
    if inp.config is None:
        return "the job stopped before its config stage"
    from configs.stage import ConfigRequest, make_argv
    from kbuild.toolchain import toolchain
    atomic_write(plan.rdir / "config", Path(inp.config.results_config).read_text())
    plan.config = "config"
    b = inp.build
    llvm = toolchain(b.toolchain).llvm if b is not None else None
    arch = b.arch if b is not None else "x86_64"
    req = ConfigRequest(Path(PH["TREE"]), Path(PH["BUILD"]), plan.rdir, arch=arch, llvm=llvm)
    plan.olddefconfig = make_argv(req, "olddefconfig")
    return None


def _build_step(inp: ByHandInputs, plan: ByHandPlan) -> str | None:
    if inp.build is None:
        return "the job stopped before its build stage"
    from kbuild.build import ARCH_IMAGE, FIXED_ENV, make_argv, make_flags
    from kbuild.toolchain import toolchain
    req = replace(inp.build, tree=Path(PH["TREE"]), jobs=PH["JOBS"], ccache=False)
    tc = toolchain(req.toolchain)
    plan.kernel = make_argv(req, tc, Path(PH["BUILD"]), make_flags(req, tc), list(req.targets))
    plan.build_env = dict(FIXED_ENV)
    if req.targets:
        return "the job built only " + ", ".join(req.targets) + ": no kernel to boot"
    plan.image = ARCH_IMAGE.get(req.arch, "arch/x86/boot/bzImage")
    return None


def _selftests_step(inp: ByHandInputs, plan: ByHandPlan) -> None:
    if inp.selftests is not None:
        plan.selftests.append(bpf_selftests_argv(inp.selftests))
    if inp.kselftest is not None:
        plan.selftests += kselftest_argvs(inp.kselftest)
    return None


def bpf_selftests_argv(req) -> list[str]:
    """The harness's bpf selftests make line (kbuild.selftests), on the script's dirs."""
    from kbuild.build import NICE
    from kbuild.selftests import BPF_DIR, llvm_vars
    nice = NICE if req.nice else []
    return nice + ["make", "-C", f"{PH['TREE']}/{BPF_DIR}", f"-j{req.jobs}",
                   f"OUTPUT={PH['BPF']}/", f"KBUILD_OUTPUT={PH['BUILD']}",
                   f"VMLINUX_BTF={PH['BUILD']}/vmlinux"] + llvm_vars(req.llvm_suffix) + \
        list(req.targets)


def kselftest_argvs(req) -> list[list[str]]:
    """`make headers` then the kselftest install, as kbuild.selftests runs them."""
    from kbuild.build import NICE
    nice = NICE if req.nice else []
    out = PH["KSELFTEST"]
    return [nice + ["make", "-C", PH["TREE"], f"O={out}/build", "ARCH=x86_64", "headers"],
            nice + ["make", "-C", f"{PH['TREE']}/tools/testing/selftests", f"-j{req.jobs}",
                    f"TARGETS={' '.join(req.targets)}", f"O={out}/build", "install",
                    f"INSTALL_PATH={out}/kselftest_install"]]


def _vm_step(inp: ByHandInputs, plan: ByHandPlan) -> str | None:
    if inp.vm is None or not inp.suites:
        return "the job stopped before it booted its kernel"
    from selftests.guest import PREPARE, PROLOGUE
    from vm.boot import QUIET_SHELL
    from vm.vng import vng_argv
    r = inp.vm
    plan.vng = vng_argv(Path(PH["VNG"]), Path(PH["KERNEL"]), kvm=inp.accel == "kvm",
                        cpus=r.cpus, memory=r.memory, append=list(r.append),
                        rwdir=Path(PH["RW"]), ssh_port=PH["PORT"])
    atomic_write(plan.rdir / "prepare.sh", PREPARE.read_text())
    plan.prepare, plan.quiet_shell, plan.prologue = "prepare.sh", QUIET_SHELL, PROLOGUE
    plan.vng_path = str(inp.vng or _default_vng())
    return None


def _suites_step(inp: ByHandInputs, plan: ByHandPlan) -> None:
    plan.suites = [suite_step(s, inp.selections.get(s.name)) for s in inp.suites]
    return None


def suite_step(suite, sel=None) -> SuiteStep:
    """The guest commands of one suite: the harness's own plan of groups, with the
    test list left to the runner (no `test_progs -l` in the guest first)."""
    from selftests.runners import plan as plan_groups
    from selftests.selection import select
    sel = sel if sel is not None else select(suite)
    cwd = suite_cwd(suite)
    groups = plan_groups(suite, sel, Path(cwd), None).groups
    return SuiteStep(suite.name, cwd, suite.copy,
                     [GroupStep(g.label, list(g.argv), int(max(1, g.timeout))) for g in groups])


def suite_cwd(suite) -> str:
    """Where the runner runs (selftests.runners.runner_dir), on the script's dirs."""
    from common.fsutil import REPO_ROOT
    if suite.base == "harness":
        root = str(REPO_ROOT)
    elif suite.base == "tree":
        root = PH["TREE"]
    else:
        root = PH["KSELFTEST"] if suite.runner == "kselftest" else PH["BPF"]
    default = "kselftest_install" if suite.runner == "kselftest" else ""
    rel = suite.path if suite.path else default
    return f"{root}/{rel}" if rel else root


# --- the script (pure) ----------------------------------------------------------------

def word(tok: str) -> str:
    """One shell word; placeholders become "${NAME}" expansions."""
    tok = str(tok)
    if not PH_RE.search(tok):
        return shlex.quote(tok)
    parts = PH_RE.split(tok)
    text = "".join("${%s}" % p if i % 2 else _dq(p) for i, p in enumerate(parts))
    return f'"{text}"'


def _dq(text: str) -> str:
    return re.sub(r'([\\"$`])', r"\\\1", text)


def line(argv: list[str]) -> str:
    return " ".join(word(a) for a in argv)


def byhand_script(plan: ByHandPlan) -> str:
    """The by-hand part of reproduce.sh (bash; runs after `set -euo pipefail`)."""
    parts = [_header(plan), _tree_part(plan)]
    if plan.config:
        parts.append(_config_part(plan))
    if plan.kernel:
        parts.append(_kernel_part(plan))
    if plan.selftests:
        parts.append(_selftests_part(plan))
    if plan.vng:
        parts += [_boot_part(plan), _suites_part(plan)]
    parts.append(_footer(plan))
    return "\n".join(parts)


def _header(plan: ByHandPlan) -> str:
    return "\n".join([
        f"# ---- by hand: job {plan.label} ----",
        "# Usage: reproduce.sh --by-hand [WORKDIR]  (default: a new dir from mktemp)",
        f"R={shlex.quote(str(plan.rdir))}",
        'WORK=${2:-$(mktemp -d "${TMPDIR:-/tmp}/kh-byhand.XXXXXX")}',
        'mkdir -p "$WORK" && WORK=$(cd "$WORK" && pwd)',
        'TREE=$WORK/linux BUILD=$WORK/build BPF=$WORK/selftests-bpf',
        'KSELFTEST=$WORK/kselftest OUT=$WORK/out RW=$WORK/guest JOBS=$(nproc)',
        'mkdir -p "$BUILD" "$OUT" "$RW"',
        'step() { printf "\\n==== %s\\n" "$*"; }',
        'run() { printf "+ %s\\n" "$*"; "$@"; }',
        'echo "by hand: work dir $WORK (logs in $OUT)"',
    ])


GIT_ENV = ("GIT_CONFIG_NOSYSTEM=1 LC_ALL=C GIT_AUTHOR_NAME=kharness "
           "GIT_AUTHOR_EMAIL=kharness@localhost GIT_COMMITTER_NAME=kharness "
           "GIT_COMMITTER_EMAIL=kharness@localhost")


def _tree_part(plan: ByHandPlan) -> str:
    out = [
        "step " + shlex.quote(f"the tree at {plan.base[:12]}, then {len(plan.patches)} "
                              "patch(es) with git am"),
        f"export {GIT_ENV}",
        'kgit() { run git -c gc.auto=0 -c core.hooksPath=/dev/null -C "$TREE" "$@"; }',
        f"run git -C {shlex.quote(str(plan.repo))} worktree add -q --detach "
        f'"$TREE" {shlex.quote(plan.base)}',
    ]
    for p in plan.patches:
        out.append(f"# {p.kind}: {p.subject}")
        out.append("kgit am --3way --committer-date-is-author-date --no-gpg-sign "
                   f'-p{p.strip} "$R"/{shlex.quote(p.file)}')
    if plan.head:
        out += [f"if [ \"$(git -C \"$TREE\" rev-parse HEAD)\" = {plan.head} ]; then",
                f"  echo {shlex.quote(f'HEAD {plan.head[:12]}: the same commits as the job')}",
                "else echo " + shlex.quote(f"note: HEAD differs from the job's {plan.head[:12]}")
                + " >&2; fi"]
    return "\n".join(out)


def _config_part(plan: ByHandPlan) -> str:
    return "\n".join([
        "step " + shlex.quote("the job's verified .config (its fragments merged), "
                              "then olddefconfig"),
        f'run cp "$R"/{shlex.quote(plan.config)} "$BUILD/.config"',
        "run " + line(plan.olddefconfig),
        f'if cmp -s "$BUILD/.config" "$R"/{shlex.quote(plan.config)}; then '
        "echo '.config: as the job verified it'",
        "else echo " + shlex.quote("warning: olddefconfig changed the job's .config")
        + " >&2; fi",
    ])


def _kernel_part(plan: ByHandPlan) -> str:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(plan.build_env.items()))
    out = ["step 'the kernel'", f"run env {env} {line(plan.kernel)}"]
    if plan.image:
        out.append(f'KERNEL=$BUILD/{plan.image}')
    return "\n".join(out)


def _selftests_part(plan: ByHandPlan) -> str:
    env = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(plan.build_env.items()))
    out = ["step 'the selftests'", 'mkdir -p "$BPF" "$KSELFTEST"']
    out += [f"run env {env} {line(argv)}" for argv in plan.selftests]
    return "\n".join(out)


def _boot_part(plan: ByHandPlan) -> str:
    return "\n".join([
        "step 'boot: vng with a fresh HOME and ssh key'",
        f"VNG=${{VNG:-{shlex.quote(plan.vng_path)}}}",
        'KH_HOME=$(mktemp -d "${TMPDIR:-/tmp}/kh-byhand-home.XXXXXX")',
        'VNG_PID=',
        BOOT_FUNCTIONS,
        "trap vm_down EXIT; trap 'exit 130' INT; trap 'exit 143' TERM",
        'mkdir -m 700 "$KH_HOME/.ssh"',
        "ssh-keygen -q -t ed25519 -N '' -C kharness-byhand -f \"$KH_HOME/.ssh/id_ed25519\"",
        "PORT=$(python3 -c 'import socket; s = socket.socket(); "
        's.bind(("127.0.0.1", 0)); print(s.getsockname()[1])\')',
        'echo "+ HOME=$KH_HOME" ' + line(plan.vng),
        f'HOME="$KH_HOME" PATH="$(dirname "$VNG"):$PATH" setsid {line(plan.vng)} '
        '>"$OUT/console.log" 2>&1 </dev/null &',
        'VNG_PID=$!; echo "$VNG_PID" > "$OUT/vng.pid"',
        f"wait_ssh {DEFAULT_BOOT_TIMEOUT}",
        f"guest {shlex.quote(plan.quiet_shell)}",
    ])


BOOT_FUNCTIONS = r'''vm_down() {
  if [ -n "$VNG_PID" ]; then
    kill -TERM -- "-$VNG_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$VNG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$VNG_PID" 2>/dev/null || true
  fi
  rm -rf "$KH_HOME"
}
guest() {
  HOME="$KH_HOME" ssh -F /dev/null -p "$PORT" -i "$KH_HOME/.ssh/id_ed25519" \
    -o IdentitiesOnly=yes -o BatchMode=yes -o ConnectTimeout=10 -o LogLevel=ERROR \
    -o StrictHostKeyChecking=yes -o HostKeyAlgorithms=ssh-ed25519 \
    -o UserKnownHostsFile="$KH_HOME/known_hosts" root@127.0.0.1 "$@"
}
wait_ssh() {  # pin the guest fresh host key (vng writes it before qemu starts), then log in
  local key=$KH_HOME/.cache/virtme-ng/.ssh/etc/ssh/ssh_host_ed25519_key.pub
  local deadline=$((SECONDS + $1))
  until [ -s "$key" ]; do
    kill -0 "$VNG_PID" 2>/dev/null || { echo "vng exited; see $OUT/console.log" >&2; exit 6; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no host key after $1 s" >&2; exit 6; }
    sleep 1
  done
  echo "[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$key")" > "$KH_HOME/known_hosts"
  until guest true 2>/dev/null; do
    kill -0 "$VNG_PID" 2>/dev/null || { echo "vng exited; see $OUT/console.log" >&2; exit 6; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "no ssh login after $1 s" >&2; exit 6; }
    sleep 2
  done
  echo "guest up: ssh -p $PORT root@127.0.0.1 (HOME=$KH_HOME)"
}
guest_run() {  # SECS CWD ARGV LOG: one test command as the harness runs it
  local cmd rc=0
  printf -v cmd '%s cd %q && exec %s' "$PROLOGUE" "$2" "$3"
  printf "+ guest: timeout -s KILL %s sh -c %q\n" "$1" "$cmd"
  guest "timeout -s KILL $1 sh -c $(printf %q "$cmd") kh-byhand" >"$4" 2>&1 || rc=$?
  cat "$4"
  echo "kh-byhand: $(basename "$4" .log) exit $rc"
}'''


def _suites_part(plan: ByHandPlan) -> str:
    cwds = " ".join(word(s.cwd) for s in plan.suites)
    out = ["step 'the suites, in the guest'",
           f"PROLOGUE={shlex.quote(plan.prologue)}",
           f'guest "sh $(printf %q "$R/{plan.prepare}") $(printf \'%q \' "$WORK" {cwds})"']
    for s in plan.suites:
        out += _suite_lines(s)
    out.append('guest dmesg > "$OUT/dmesg.txt" || true')
    return "\n".join(out)


def _suite_lines(s: SuiteStep) -> list[str]:
    out = [f"# suite {s.name}", f'mkdir -p "$OUT"/{shlex.quote(s.name)}',
           f"CWD={word(s.cwd)}"]
    if s.copy:
        dest = f"/tmp/kharness-{_safe(s.name)}"
        out += [f"guest \"rm -rf {dest} && cp -a $(printf %q \"$CWD\") {dest}\"",
                f"CWD={dest}"]
    for i, g in enumerate(s.groups, 1):
        log = f'"$OUT"/{shlex.quote(s.name)}/{i:03d}-{shlex.quote(g.label)}.log'
        out.append(f'guest_run {g.timeout} "$CWD" {shlex.quote(shlex.join(g.argv))} {log}')
    return out


def _footer(plan: ByHandPlan) -> str:
    done = (f"echo {shlex.quote('by hand: done; ' + plan.stopped + ', so the steps end here')}"
            if plan.stopped else 'echo "by hand: done; raw test logs in $OUT"')
    forget = f"git -C {shlex.quote(str(plan.repo))} worktree remove --force"
    return done + f'\necho "when done with it: {_dq(forget)} $TREE"'


def _default_vng() -> Path:
    from common.errors import UsageError
    from vm.vng import find_vng
    try:
        return find_vng()
    except UsageError:
        return Path("vng")
