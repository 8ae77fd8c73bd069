"""Shared helpers of the parser tests: recorded logs under tests/data/logs and
views of a parsed log."""
from pathlib import Path

LOGS = Path(__file__).parent / "data" / "logs"


def lines(name: str) -> list[str]:
    return (LOGS / name).read_text().splitlines()


def statuses(parsed) -> dict[str, str]:
    """Every test and subtest by path, to its status value."""
    return {p: t.status.value for p, t in parsed.flat()}


def find(parsed, path: str):
    return dict(parsed.flat())[path]
