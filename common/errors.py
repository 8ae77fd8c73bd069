"""Typed errors. Library code raises these; only harness.py turns them into exit codes."""
from __future__ import annotations

EXIT_PASS = 0
EXIT_TESTS_FAILED = 1
EXIT_USAGE = 2
EXIT_APPLY = 3
EXIT_CONFIG = 4
EXIT_BUILD = 5
EXIT_BOOT = 6
EXIT_INFRA = 7
EXIT_BISECT_SKIP = 125


class HarnessError(Exception):
    """Base class. `exit_code` is what the CLI exits with."""

    exit_code = EXIT_INFRA

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(HarnessError):
    exit_code = EXIT_USAGE


class InputError(UsageError):
    """Bad input file: names the file and, when known, the line."""

    def __init__(self, message: str, *, path: str | None = None,
                 line: int | None = None, hint: str | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line


class ParseError(InputError):
    """A parser met input it cannot make sense of."""


class ApplyError(HarnessError):
    exit_code = EXIT_APPLY


class ConfigError(HarnessError):
    exit_code = EXIT_CONFIG


class BuildError(HarnessError):
    exit_code = EXIT_BUILD


class BootError(HarnessError):
    exit_code = EXIT_BOOT


class InfraError(HarnessError):
    exit_code = EXIT_INFRA


class StageTimeout(InfraError):
    """A phase ran past its time limit."""


class NotRun(HarnessError):
    """A job that cannot run for a stated, expected reason (no patches for this tree
    yet). It is reported as NOT RUN, neither passed nor failed."""

    exit_code = EXIT_PASS


class OfflineError(InfraError):
    """A network source could not be reached."""
