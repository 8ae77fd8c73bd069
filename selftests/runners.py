"""Turn a suite and its selection into groups: one guest command each, run under
its own timeout. A group is also the unit that dmesg and splats are checked after."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from common.errors import UsageError
from common.fsutil import REPO_ROOT

from .guest import shell_line
from .selection import Selection, denied_by
from .suite import DenyEntry, Suite

DEFAULT_PATHS = {"kselftest": "kselftest_install"}


@dataclass
class Group:
    label: str                 # names the raw log file and the test "running" for splats
    tests: list[str]           # names or patterns this group should report
    argv: list[str]
    cwd: Path
    timeout: float
    retry_of: str | None = None   # the test a retry group re-runs

    def line(self) -> str:
        return shell_line(self.argv, self.cwd)


@dataclass
class Plan:
    groups: list[Group] = field(default_factory=list)
    cwd: Path | None = None
    denied: list[tuple[str, DenyEntry]] = field(default_factory=list)   # left out, and why


def runner_dir(suite: Suite, selftests_dir: Path | None, tree_dir: Path | None = None) -> Path:
    """Where the runner runs: `suite.path` under its base (the harness checkout,
    the kernel tree or the built selftests). Without a path, test_progs runs in
    the selftests dir itself when the binary is there (kbuild's flat artifacts
    dir), else in its bpf/ subdir; kselftest in kselftest_install/."""
    if suite.base == "harness":
        root = REPO_ROOT
    else:
        root = tree_dir if suite.base == "tree" else selftests_dir
        if root is None:
            what = "kernel source tree" if suite.base == "tree" else "selftests build dir"
            raise UsageError(f"suite '{suite.name}' needs a {what}")
    root = Path(root)
    if suite.path:
        return (root / suite.path).resolve()
    if suite.base != "selftests":
        return root.resolve()
    if suite.is_test_progs:
        return root.resolve() if (root / suite.runner).exists() else (root / "bpf").resolve()
    return (root / DEFAULT_PATHS.get(suite.runner, "")).resolve()


def safe_label(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "group"


def test_progs_argv(suite: Suite, sel: Selection, tests: list[str]) -> list[str]:
    argv = [f"./{suite.runner}"]
    if tests:
        argv += ["-a", ",".join(tests)]
    if sel.deny:
        argv += ["-d", ",".join(d.name for d in sel.deny)]
    if suite.watchdog:
        argv += ["-w", str(suite.watchdog)]
    if suite.parallel > 1:
        argv.append(f"--workers={suite.parallel}")
    return argv


def kselftest_argv(suite: Suite, tests: list[str]) -> list[str]:
    argv = ["./run_kselftest.sh", "-o", str(int(suite.test_timeout))]
    for t in tests:
        argv += ["-t", t] if ":" in t else ["-c", t]
    return argv


def plan(suite: Suite, sel: Selection, cwd: Path, listed: list[str] | None = None) -> Plan:
    """The groups to run. `listed`: every test the runner offers (test_progs -l),
    used when the allow list is empty; deny-listed whole tests are left out (in
    `denied`), and when every named test is deny-listed nothing runs."""
    out = Plan(cwd=cwd)
    if suite.runner == "command":
        out.groups.append(Group(safe_label(suite.name), [], list(suite.command), cwd,
                                suite.test_timeout))
        return out
    named = list(sel.allow) or list(listed or [])
    out.denied = [(n, e) for n in named if (e := denied_by(n, sel.deny)) is not None]
    names = [n for n in named if denied_by(n, sel.deny) is None]
    if named and not names:
        return out
    if not names:
        argv = test_progs_argv(suite, sel, []) if suite.is_test_progs \
            else kselftest_argv(suite, [])
        out.groups.append(Group("all", [], argv, cwd, suite.suite_timeout))
        return out
    for i in range(0, len(names), suite.batch):
        chunk = names[i:i + suite.batch]
        argv = test_progs_argv(suite, sel, chunk) if suite.is_test_progs \
            else kselftest_argv(suite, chunk)
        label = safe_label(chunk[0] if len(chunk) == 1 else f"{chunk[0]}+{len(chunk) - 1}")
        out.groups.append(Group(label, chunk, argv, cwd, suite.test_timeout * len(chunk)))
    return out


def retry_group(suite: Suite, sel: Selection, failed: str, original: Group,
                attempt: int) -> Group:
    """A group that re-runs one failed test (test_progs), or the whole original
    group (other runners cannot select one test of their output)."""
    if suite.is_test_progs:
        top = failed.split("/", 1)[0]
        return Group(safe_label(f"retry{attempt}-{top}"), [top],
                     test_progs_argv(suite, sel, [top]), original.cwd, suite.test_timeout,
                     retry_of=top)
    return Group(safe_label(f"retry{attempt}-{original.label}"), original.tests,
                 original.argv, original.cwd, original.timeout, retry_of=failed)


def list_command(suite: Suite, cwd: Path) -> str | None:
    """Guest line that lists the runner's tests (test_progs -l), or None."""
    if suite.is_test_progs and not suite.allow:
        return shell_line([f"./{suite.runner}", "-l"], cwd)
    return None
