"""The diagnostics of a robot report, read by the build's own parser.

A robot report's diagnostics block is read by kbuild.logparse, the same parser
that reads build logs, so a reported warning and a built one are parsed alike and
compared by the one Diagnostic.key() (file, function, message; line drift
tolerated). Lines marked `>>` come out with new=True.
"""
from kbuild.logparse import Diagnostic, normalize, parse_diagnostics, strip_marker

__all__ = ["Diagnostic", "normalize", "parse_diagnostics", "strip_marker"]
