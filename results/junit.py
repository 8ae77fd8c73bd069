"""JUnit XML in the GitLab/Jenkins conventions, from a job's verdicts
(results/verdicts.py): one <testsuite> per suite (test binary or series), one
<testcase> per verdict (a leaf test, test/subtest, or a test that failed on its
own after its subtests passed), failure text inside.

A splat adds `<failure type="splat">` to the test case that was running, its
excerpt in `system-err`; with no such test case it becomes a case of its own
(`splat-<fingerprint>`). A known splat (the tree's splat list) is written the
same way without the failure. Times are the runner's per test, or the group
time the harness measured when the group ran that test alone; a case with
neither has no `time`.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from .model import Status
from .store import JobSummary, SuiteRecord
from .verdicts import JOB_SPLATS, Verdict, job_verdicts

BAD_AS_ERROR = (Status.TIMEOUT, Status.ERROR, Status.MISSING)
COUNTED = {"failure": "failures", "error": "errors", "skipped": "skipped"}


def _new_case(suite: str, rel: str, duration: float | None) -> ET.Element:
    top, _, rest = rel.partition("/")
    classname = f"{suite}.{top}" if rest else suite
    case = ET.Element("testcase", classname=classname, name=rest or top)
    if duration is not None:
        case.set("time", f"{duration:.3f}")
    return case


def _outcome(case: ET.Element, v: Verdict) -> None:
    text = "\n".join(v.log[-200:])
    reason = v.reason or v.status.value
    if v.status == Status.FAIL:
        ET.SubElement(case, "failure", message=reason, type="fail").text = text
    elif v.status in BAD_AS_ERROR:
        ET.SubElement(case, "error", message=reason, type=v.status.value).text = text
    elif v.status == Status.SKIP:
        ET.SubElement(case, "skipped", message=v.reason or "skipped")
    elif v.status == Status.FLAKY:
        runs = ",".join(v.test.runs) if v.test is not None else ""
        ET.SubElement(case, "flakyFailure", message=f"flaky: runs {runs}",
                      type="flaky").text = text
    elif text:
        ET.SubElement(case, "system-out").text = text


def _add_splat(case: ET.Element, v: Verdict) -> None:
    """The splat's failure before the case's output, its excerpt in system-err."""
    sp = v.splat
    head = f"splat [{sp.fingerprint}] {sp.kind}: {sp.title}"
    if v.status.is_bad:
        at = sum(1 for c in case if c.tag not in ("system-out", "system-err"))
        fail = ET.Element("failure", message=head, type="splat")
        case.insert(at, fail)
    err = case.find("system-err")
    if err is None:
        err = ET.SubElement(case, "system-err")
    lines = [err.text] if err.text else []
    lines += [f"{head}" + (f" (known: {sp.known})" if sp.known else "")] + v.log
    err.text = "\n".join(lines)


def _suite_cases(name: str, verdicts: list[Verdict]) -> list[ET.Element]:
    """Cases for one suite's verdicts (tests first, then the splats found in it)."""
    cases: dict[str, ET.Element] = {}
    for v in verdicts:
        rel = v.path[len(name) + 1:] if v.path.startswith(name + "/") else v.path
        if v.splat is not None and v.during in cases:
            _add_splat(cases[v.during], v)
            continue
        if v.splat is not None:
            where = v.during[len(name) + 1:] + "/" if v.during else ""
            case = _new_case(name, f"{where}{rel}", None)
            _add_splat(case, v)
        else:
            case = _new_case(name, rel, v.duration)
            _outcome(case, v)
        cases[v.path] = case
    return list(cases.values())


def _suite_element(name: str, cases: list[ET.Element], measured: float | None) -> ET.Element:
    el = ET.Element("testsuite", name=name, tests=str(len(cases)))
    counts = dict.fromkeys(COUNTED.values(), 0)
    for c in cases:
        for tag in {child.tag for child in c} & set(COUNTED):
            counts[COUNTED[tag]] += 1
        el.append(c)
    for k, v in counts.items():
        el.set(k, str(v))
    times = [float(c.get("time")) for c in cases if c.get("time") is not None]
    total = measured if measured is not None else (sum(times) if times else None)
    if total is not None:
        el.set("time", f"{total:.3f}")
    return el


def job_elements(job: JobSummary, prefix: str = "") -> list[ET.Element]:
    """One <testsuite> per suite of the job (and one for splats outside any suite)."""
    verdicts = job_verdicts(job)
    names = [rec.name for rec in job.suites]
    if any(v.path.startswith(JOB_SPLATS + "/") for v in verdicts if v.splat is not None):
        names.append(JOB_SPLATS)
    measured = {rec.name: rec.duration for rec in job.suites}
    out = []
    for name in names:
        mine = [v for v in verdicts if v.path.startswith(name + "/")]
        out.append(_suite_element(f"{prefix}{name}", _suite_cases(name, mine),
                                  measured.get(name)))
    return out


# What XML 1.0 cannot hold: C0 controls but tab, LF and CR; lone surrogates; U+FFFE/F.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """`text` with every character XML 1.0 cannot hold written as `\\xNN` or
    `\\uNNNN` (guest output may carry NUL, ESC or undecodable bytes)."""
    return NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)


def _document(elements: list[ET.Element]) -> str:
    root = ET.Element("testsuites")
    root.extend(elements)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + \
        xml_safe(ET.tostring(root, encoding="unicode")) + "\n"


def render_jobs(groups: list[tuple[str, JobSummary]]) -> str:
    """groups: (prefix, job); the prefix names the job in a matrix ("" for one job)."""
    return _document([el for prefix, job in groups for el in job_elements(job, prefix)])


def render(groups: list[tuple[str, list[SuiteRecord]]]) -> str:
    """Suites without their job: the same verdicts, no splats (use render_jobs)."""
    jobs = [(prefix, JobSummary("", "complete", None, [], suites)) for prefix, suites in groups]
    return render_jobs(jobs)
