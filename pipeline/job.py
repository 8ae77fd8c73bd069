"""What a job is, and the state that flows between its stages."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_TREE = "debian-6.12"
DEFAULT_PROFILE = "bpf"
DEFAULT_TOOLCHAIN = "gcc"


@dataclass
class JobSpec:
    tree: str = DEFAULT_TREE
    series: str | None = None        # None: the base tree alone
    rev: str | None = None           # None: the newest revision that has patches
    profile: str = DEFAULT_PROFILE
    fragments: list[str] = field(default_factory=list)
    toolchain: str = DEFAULT_TOOLCHAIN
    suites: list[str] = field(default_factory=list)  # empty: the series' own suite + smoke
    accel: str | None = None         # kvm, tcg, or None for the probe's choice
    upto: int | None = None          # apply only the first K patches
    rebuild: bool = False
    allow_drop: list[str] = field(default_factory=list)
    make_flags: list[str] = field(default_factory=list)   # W=1, C=1 ...
    targets: list[str] = field(default_factory=list)      # extra make targets
    name: str | None = None          # a label from the matrix file
    worktree: str | None = None      # build this checkout as it is (bisect-commits)
    series_config: bool = True       # add the revision's own config fragments

    @property
    def base_only(self) -> bool:
        return self.series is None

    def label(self) -> str:
        if self.name:
            return self.name
        what = "base" if self.base_only else f"{self.series}@{self.rev or 'latest'}"
        if self.upto is not None:
            what += f"~{self.upto}"
        return f"{what}:{self.profile}:{self.toolchain}:{self.suite_label()}"

    def suite_label(self) -> str:
        return "+".join(self.suites) if self.suites else "default"

    def job_parts(self) -> list[str]:
        head = ["base", self.tree] if self.base_only else [self.series, self.rev or "latest"]
        if self.upto is not None:
            head[-1] += f"-upto{self.upto}"
        return head + [f"{self.profile}-{self.toolchain}-{self.suite_label()}"]

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class JobContext:
    """Filled in stage by stage; each stage reads what the earlier ones left."""

    spec: JobSpec
    store: Any                        # results.store.JobStore
    runner: Any                       # common.proc.Runner
    progress: Any                     # common.progress.Progress
    worktree: Path | None = None
    revision: Any = None              # the series revision record, when there is one
    apply: Any = None                 # ApplyResult
    config: Any = None                # ConfigResult
    build: Any = None                 # BuildResult
    selftests: Any = None             # selftests build result
    kselftest: Any = None             # kselftest install (KselftestResult)
    suite: Any = None                 # the loaded suite
    cmdline: list[str] = field(default_factory=list)
    fixups: list = field(default_factory=list)
    facts: dict = field(default_factory=dict)   # goes into manifest.json
