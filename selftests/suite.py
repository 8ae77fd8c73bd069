"""Suite files (selftests/suites/*.yaml): loading and schema checks.

Every error names the file and line (InputError)."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

from common.errors import InputError
from common.yamlfile import Located, LocatedList, Schema, line_of, load_yaml

from .conditions import Conditions, parse_conditions, parse_date

SUITES_DIR = Path(__file__).resolve().parent / "suites"

TEST_PROGS_RUNNERS = ("test_progs", "test_progs-no_alu32", "test_progs-cpuv4")
RUNNERS = TEST_PROGS_RUNNERS + ("kselftest", "command")

TOP_KEYS = {"name", "description", "runner", "base", "path", "command", "allow", "deny",
            "timeout", "parallel", "batch", "retries", "vm", "copy", "cmdline"}
# What `path` is relative to: the harness checkout, the kernel source tree, or
# the built selftests (kbuild's artifacts dir or tools/testing/selftests).
BASES = ("harness", "tree", "selftests")
DENY_KEYS = {"name", "reason", "link", "expires", "accel", "arch", "toolchain"}
TIMEOUT_KEYS = {"test", "suite", "watchdog"}
VM_KEYS = {"cpus", "memory"}
MEMORY_RE = re.compile(r"^\d+[MG]$")
MAX_CPUS = 256                 # vm.cpus and parallel: more is a typo, not a machine
MAX_SECONDS = 7 * 24 * 3600    # a timeout longer than a week is a typo (or .inf)


@dataclass
class DenyEntry:
    name: str                 # test name or glob (test_progs: "test" or "test/subtest")
    reason: str
    link: str | None = None
    expires: dt.date | None = None
    line: int | None = None
    when: Conditions = Conditions()   # accel/arch/toolchain; empty: every job
    source: str = ""                  # the file the entry is in (suite or tree.yaml)

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    def to_dict(self) -> dict:
        return {"name": self.name, "reason": self.reason, "link": self.link,
                "expires": self.expires.isoformat() if self.expires else None,
                "when": self.when.to_dict(), "source": self.where}


@dataclass
class Suite:
    name: str
    runner: str
    source: Path
    description: str = ""
    base: str = "selftests"           # harness, tree or selftests (see BASES)
    path: str | None = None           # dir of the runner, relative to `base`
    command: list[str] = field(default_factory=list)   # runner: command
    allow: list[str] = field(default_factory=list)     # empty: everything
    deny: list[DenyEntry] = field(default_factory=list)
    test_timeout: float = 300.0       # one test (or one batch of `batch` tests)
    suite_timeout: float = 1800.0     # the whole suite, retries included
    watchdog: int | None = None       # test_progs -w
    parallel: int = 1                 # test_progs -j
    batch: int = 1                    # tests per invocation
    retries: int = 0                  # re-runs of a failed test
    cpus: int = 2
    memory: str = "2G"
    cmdline: list[str] = field(default_factory=list)   # kernel parameters the tests need
    copy: bool = False                # run from a copy in the guest's tmpfs (tests that
                                      # write next to themselves; the host root is read-only)

    @property
    def kselftest_targets(self) -> list[str]:
        """The kselftest TARGETS to build: the collections the allow list names
        ("landlock" or "landlock:fs_test" both need target landlock)."""
        if self.runner != "kselftest":
            return []
        return sorted({a.split(":", 1)[0] for a in self.allow})

    @property
    def is_test_progs(self) -> bool:
        return self.runner in TEST_PROGS_RUNNERS

    @property
    def output_format(self) -> str:
        if self.is_test_progs:
            return "test_progs"
        return "kselftest" if self.runner == "kselftest" else "ktap"


def suite_path(name_or_path: str, suites_dir: Path = SUITES_DIR) -> Path:
    """A suite given by name (selftests/suites/NAME.yaml) or by file path."""
    p = Path(name_or_path)
    if p.suffix in (".yaml", ".yml") or "/" in name_or_path:
        return p
    return suites_dir / f"{name_or_path}.yaml"


def list_suites(suites_dir: Path = SUITES_DIR) -> list[Path]:
    return sorted(suites_dir.glob("*.yaml"))


def load_suite(name_or_path: str | Path, suites_dir: Path = SUITES_DIR) -> Suite:
    path = suite_path(str(name_or_path), suites_dir)
    if not path.is_file():
        known = ", ".join(p.stem for p in list_suites(suites_dir))
        raise InputError(f"no such suite (known: {known})", path=str(path))
    doc = load_yaml(path)
    return parse_suite(doc, str(path))


def parse_suite(doc, path: str) -> Suite:
    c = Schema(path)
    doc = c.mapping(doc, "suite", keys=TOP_KEYS)
    stem = Path(path).stem
    name = c.string(doc, "name") or stem
    runner = c.string(doc, "runner", required=True)
    if runner not in RUNNERS:
        c.fail(f"unknown runner '{runner}' (one of: {', '.join(RUNNERS)})", doc, "runner")
    command = c.strings(doc, "command")
    if runner == "command" and not command:
        c.fail("runner 'command' needs a 'command' list (argv)", doc, "runner")
    if runner != "command" and command:
        c.fail(f"'command' is only for runner 'command', not '{runner}'", doc, "command")
    base = c.string(doc, "base") or ("harness" if runner == "command" else "selftests")
    if base not in BASES:
        c.fail(f"unknown base '{base}' (one of: {', '.join(BASES)})", doc, "base")
    suite = Suite(name=name, runner=runner, source=Path(path), base=base,
                  description=c.string(doc, "description") or "",
                  path=c.string(doc, "path"), command=command,
                  allow=c.strings(doc, "allow"), deny=_deny(c, doc),
                  parallel=c.number(doc, "parallel", 1, integer=True, minimum=1, maximum=MAX_CPUS),
                  batch=c.number(doc, "batch", 1, integer=True, minimum=1, maximum=10_000),
                  retries=c.number(doc, "retries", 0, integer=True, minimum=0, maximum=10))
    suite.cmdline = c.strings(doc, "cmdline")
    if "copy" in doc:
        if not isinstance(doc["copy"], bool):
            c.fail("'copy' must be true or false", doc, "copy")
        suite.copy = doc["copy"]
    if "timeout" in doc:
        t = c.mapping(doc["timeout"], "timeout", doc, "timeout", keys=TIMEOUT_KEYS)
        suite.test_timeout = c.number(t, "test", suite.test_timeout, minimum=1, maximum=MAX_SECONDS)
        suite.suite_timeout = c.number(t, "suite", suite.suite_timeout, minimum=1,
                                       maximum=MAX_SECONDS)
        suite.watchdog = c.number(t, "watchdog", None, integer=True, minimum=1,
                                  maximum=MAX_SECONDS)
        if suite.suite_timeout < suite.test_timeout:
            c.fail("timeout.suite must not be shorter than timeout.test", t, "suite")
    if "vm" in doc:
        v = c.mapping(doc["vm"], "vm", doc, "vm", keys=VM_KEYS)
        suite.cpus = c.number(v, "cpus", suite.cpus, integer=True, minimum=1, maximum=MAX_CPUS)
        mem = c.string(v, "memory")
        if mem is not None:
            if not MEMORY_RE.match(mem):
                c.fail(f"vm.memory must look like 512M or 2G, not '{mem}'", v, "memory")
            suite.memory = mem
    if not suite.is_test_progs:
        if "parallel" in doc:
            c.fail(f"'parallel' is a test_progs option; runner is '{runner}'", doc, "parallel")
        if suite.watchdog is not None:
            c.fail(f"'watchdog' is a test_progs option; runner is '{runner}'",
                   doc["timeout"], "watchdog")
    if runner == "kselftest" and not suite.allow:
        c.fail("a kselftest suite needs an 'allow' list naming its collections "
               "(e.g. landlock, or landlock:fs_test); they are the TARGETS built", doc, "runner")
    return suite


def _deny(c: Schema, doc) -> list[DenyEntry]:
    if "deny" not in doc:
        return []
    items = doc["deny"]
    if not isinstance(items, LocatedList):
        c.fail("'deny' must be a list of {name, reason, link, expires} entries", doc, "deny")
    out = []
    for item in items:
        e = c.mapping(item, "deny entry", doc, "deny", keys=DENY_KEYS)

        def fail(msg: str, key: str, e=e) -> NoReturn:
            c.fail(msg, e, key)
        expires = e.get("expires")
        if expires is not None:
            expires = parse_date(expires, fail)
        out.append(DenyEntry(name=c.string(e, "name", required=True),
                             reason=c.string(e, "reason", required=True),
                             link=c.string(e, "link"), expires=expires, line=e.line,
                             when=parse_conditions(e, fail), source=c.path))
    return out
