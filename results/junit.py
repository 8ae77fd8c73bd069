"""JUnit XML in the GitLab/Jenkins conventions: one <testsuite> per suite (test binary
or series), one <testcase> per leaf test (test, or test/subtest), failure text inside."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from .model import Status, TestResult
from .store import SuiteRecord

BAD_AS_ERROR = (Status.TIMEOUT, Status.ERROR, Status.MISSING)


def _leaves(test: TestResult, prefix: str = ""):
    path = f"{prefix}/{test.name}" if prefix else test.name
    if not test.subtests:
        yield path, test
        return
    for sub in test.subtests:
        yield from _leaves(sub, path)


def _case(suite: str, path: str, t: TestResult) -> ET.Element:
    top, _, rest = path.partition("/")
    classname = f"{suite}.{top}" if rest else suite
    case = ET.Element("testcase", classname=classname, name=rest or top,
                      time=f"{t.duration or 0:.3f}")
    text = "\n".join(t.log[-200:])
    reason = t.reason or t.status.value
    if t.status == Status.FAIL:
        el = ET.SubElement(case, "failure", message=reason, type="fail")
        el.text = text
    elif t.status in BAD_AS_ERROR:
        el = ET.SubElement(case, "error", message=reason, type=t.status.value)
        el.text = text
    elif t.status == Status.SKIP:
        ET.SubElement(case, "skipped", message=t.reason or "skipped")
    elif t.status == Status.FLAKY:
        el = ET.SubElement(case, "flakyFailure", message=f"flaky: runs {','.join(t.runs)}",
                           type="flaky")
        el.text = text
    elif text:
        ET.SubElement(case, "system-out").text = text
    return case


def suite_element(rec: SuiteRecord, prefix: str = "") -> ET.Element:
    name = f"{prefix}{rec.name}"
    cases = [_case(name, p, t) for top in rec.parsed.tests for p, t in _leaves(top)]
    el = ET.Element("testsuite", name=name, tests=str(len(cases)))
    counts = {"failures": 0, "errors": 0, "skipped": 0}
    total = 0.0
    for c in cases:
        total += float(c.get("time", "0"))
        for child in c:
            key = {"failure": "failures", "error": "errors", "skipped": "skipped"}.get(child.tag)
            if key:
                counts[key] += 1
        el.append(c)
    for k, v in counts.items():
        el.set(k, str(v))
    el.set("time", f"{total:.3f}")
    return el


def render(groups: list[tuple[str, list[SuiteRecord]]]) -> str:
    """groups: (prefix, suites); the prefix names the job in a matrix ("" for one job)."""
    root = ET.Element("testsuites")
    for prefix, suites in groups:
        for rec in suites:
            root.append(suite_element(rec, prefix))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
