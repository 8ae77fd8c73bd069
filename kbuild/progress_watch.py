"""Progress of a running build: count kbuild `CC` lines in the streaming log."""
from __future__ import annotations

import glob
import re
from pathlib import Path

from common.progress import LineCounter, Periodic, fmt_secs

CC_LINE = re.compile(rb"^\s+CC(?: \[M\])?\s+\S+", re.M)
# One BPF object of the bpf selftests: `  CLNG-BPF [test_progs] foo.bpf.o`.
BPF_LINE = re.compile(rb"^\s+CLNG-BPF\s+(?:\[[^\]]*\]\s+)?\S+\.bpf\.o\b", re.M)


def _kconfig_values(path: Path) -> dict[str, str] | None:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    pairs = (ln.split("=", 1) for ln in lines if ln.startswith("CONFIG_") and "=" in ln)
    return {k: v.strip('"') for k, v in pairs}        # auto.conf writes strings unquoted


def changed_symbols(obj: Path) -> set[str] | None:
    """The Kconfig symbols whose value in .config differs from the last build's
    include/config/auto.conf: make's syncconfig touches `include/config/<SYM>` for
    each, which remakes every object that tested it. None without an auto.conf."""
    obj = Path(obj)
    new, old = _kconfig_values(obj / ".config"), _kconfig_values(obj / "include/config/auto.conf")
    if new is None or old is None:
        return None
    return {k.removeprefix("CONFIG_") for k in new.keys() | old.keys() if new.get(k) != old.get(k)}


def _deps(text: str) -> tuple[str | None, list[str]]:
    """A kbuild `.x.o.cmd` file's source and dependencies (fixdep's `deps_` list)."""
    source, deps, inside = None, [], False
    for ln in text.splitlines():
        if ln.startswith("source_"):
            source = ln.partition(":=")[2].strip()
        elif ln.startswith("deps_"):
            inside = ln.rstrip().endswith("\\")
        elif inside:
            inside = ln.rstrip().endswith("\\")
            dep = ln.strip().rstrip("\\").strip()
            if dep:
                deps.append(dep)
    return source, deps


class _Stale:
    """Whether an object is older than a dependency (make's question), with the
    dependencies' mtimes looked up once across all objects."""

    def __init__(self, obj: Path, changed: set[str]):
        self.obj, self.changed = obj, changed
        self._mtime: dict[str, float | None] = {}

    def mtime(self, dep: str) -> float | None:
        if dep not in self._mtime:
            try:
                self._mtime[dep] = (self.obj / dep).stat().st_mtime
            except OSError:
                self._mtime[dep] = None
        return self._mtime[dep]

    def __call__(self, target: Path, source: str, deps: list[str]) -> bool:
        try:
            built = target.stat().st_mtime
        except OSError:
            return True
        for dep in [source] + deps:
            if dep.startswith("$(wildcard "):
                dep = dep[len("$(wildcard "):].rstrip(")")
                if dep.startswith("include/config/") and dep[15:] in self.changed:
                    return True
            t = self.mtime(dep)
            if t is not None and t > built:
                return True
        return False


def remake_count(obj: Path) -> int | None:
    """How many C objects the next make in build dir `obj` compiles again: those
    missing, older than their source or a header they include, or testing a Kconfig
    symbol that changed (from kbuild's `.x.o.cmd` files). None for a build dir with
    no record (a first build: the family's full count is the better guess). Objects
    new to this .config have no record yet and are not counted."""
    obj = Path(obj)
    changed = changed_symbols(obj)
    cmds = list(obj.rglob(".*.o.cmd"))
    if not cmds or changed is None:
        return None
    stale, n = _Stale(obj, changed), 0
    for cmd in cmds:
        try:
            source, deps = _deps(cmd.read_text(errors="replace"))
        except OSError:
            continue
        if source and source.endswith(".c") and stale(cmd.with_name(cmd.name[1:-4]),
                                                       source, deps):
            n += 1
    return n


def count_objects(text: bytes, pattern: re.Pattern = CC_LINE) -> int:
    return len(pattern.findall(text))


class LogWatcher(Periodic):
    """Polls `log` every `period` seconds and reports `done/expected, ETA` lines.
    ETA uses the seconds per object of the last build of the same family."""

    def __init__(self, log: Path, progress, stage: str, expected: int | None,
                 per_object: float | None, period: float = 2.0,
                 pattern: re.Pattern = CC_LINE, unit: str = "objects"):
        super().__init__(period)
        self.progress, self.stage = progress, stage
        self.expected, self.per_object, self.unit = expected, per_object, unit
        log = Path(log)
        self._lines = LineCounter(log.parent, glob.escape(log.name), pattern)

    @property
    def count(self) -> int:
        return self._lines.count

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self.poll()

    def poll(self) -> int:
        return self._lines()

    def tick(self) -> None:
        self.poll()
        if self.progress is not None:
            self.progress.counter(self.stage, self.line())

    def line(self) -> str:
        text = f"{self.count} {self.unit}"
        if self.expected:
            total = max(self.expected, self.count)    # objects new to this .config
            text = f"{self.count}/{total} {self.unit}"
            if self.per_object:
                left = max(total - self.count, 0) * self.per_object
                text += f", ETA {fmt_secs(left)}"
        return text
