"""Bisection: over the patches of one revision, over revisions, over base commits.

Public API:
    bisection.core.search(candidates, evaluate) -> SearchResult   (pure; evaluate is injected)
    bisection.core.StepVerdict, Criterion parsing in bisect.criteria
"""
