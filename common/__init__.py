"""Shared pieces used by every stage: typed errors, the process seam, paths."""
