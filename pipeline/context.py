"""The state that flows between a job's stages: typed results, live resources
apart from what becomes manifest.json."""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from common.progress import Progress
    from common.proc import ProcessRunner
    from configs.stage import ConfigResult
    from kbuild.build import BuildResult
    from kbuild.selftests import KselftestResult, SelftestsResult
    from patches.apply import ApplyResult
    from results.store import JobStore
    from vm.api import GuestVM

    from .check import JobPlan


@dataclass
class StageReport:
    """What a stage function returns: one line for the table, and facts for
    summary.json."""
    detail: str = ""
    cached: bool = False
    data: dict = field(default_factory=dict)


@dataclass
class JobContext:
    """Filled in stage by stage; each stage reads the typed results of the earlier
    ones. `facts` is plain data for manifest.json; live resources (the VM, the
    exit stack that tears it down) are kept apart from it."""

    plan: "JobPlan"
    store: "JobStore"
    runner: "ProcessRunner"
    progress: "Progress"
    stack: contextlib.ExitStack | None = None
    vm: "GuestVM | None" = None
    worktree: Path | None = None
    apply: "ApplyResult | None" = None
    config: "ConfigResult | None" = None
    build: "BuildResult | None" = None
    selftests: "SelftestsResult | None" = None
    kselftest: "KselftestResult | None" = None
    base_warnings: list | None = None   # the base tree's build warnings (--new-warnings)
    # the requests the stages made, for reproduce.sh --by-hand
    build_request: object | None = None
    selftests_request: object | None = None
    kselftest_request: object | None = None
    vm_request: object | None = None
    facts: dict = field(default_factory=dict)

    @property
    def spec(self):
        return self.plan.spec

    @property
    def suites(self) -> list:
        return list(self.plan.suites)
