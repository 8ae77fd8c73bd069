"""Reproduce a kernel test robot (0-day / lkp) report from its email.

Public API:
    repro.report.parse_report(data: bytes, path: str) -> RobotReport      (pure; no I/O)
    repro.report.load_report(path) -> RobotReport
    repro.diag.parse_diagnostics(lines) -> list[Diagnostic]               (pure)
    repro.match.match_diagnostics(reported, seen) -> Verdict
"""
