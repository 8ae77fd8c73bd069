"""b4 review check: `harness.py b4-check [--series-level]`.

b4 (0.15+) runs `b4.review-perpatch-check-cmd` / `b4.review-series-check-cmd` with
one RFC 2822 message on stdin (a patch, or the cover letter) and reads a JSON
array of results from stdout, each {tool, status: pass|warn|fail, summary, url,
details} (b4's docs/maintainer/review.rst, "Writing an external check script").

The message is mapped to a series revision by its message-id (a revision's
message_id, or the upstream posting a port follows); a patch of the posting is
found through In-Reply-To/References to the cover letter and its [PATCH n/m].
The result is a finished job of the configured matrix for that revision with the
same inputs (job options and the patches' hashes), found in the results root,
or, with --run, the matrix's jobs for it run now. The status is fail on a
regression against the baseline job (same tree, profile, toolchain), a new splat,
a new warning, or a job that stopped before its tests; warn for flaky tests, or
when there is nothing to judge (and why); pass otherwise.
"""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from common.errors import InputError
from common.fsutil import read_json

TOOL = "kharness"
PATCH_NUM = re.compile(r"\[[^\]]*?\b(\d+)/(\d+)\s*\]")
# The JobSpec fields that make two jobs' inputs the same (with the patches' hashes).
INPUT_KEYS = ("tree", "series", "rev", "profile", "toolchain", "arch", "suites", "fragments",
              "make_flags", "targets", "upto", "skip", "series_config", "new_warnings")


@dataclass
class Message:
    msgid: str
    subject: str
    refs: list[str]             # In-Reply-To and References, nearest first

    @property
    def patch_number(self) -> tuple[int, int] | None:
        m = PATCH_NUM.search(self.subject)
        return (int(m.group(1)), int(m.group(2))) if m else None


@dataclass
class Target:
    """What the message is: a revision of a series, and which patch of it (None for
    the cover letter or the whole series)."""
    series: object
    rev: object
    patch: int | None = None
    via: str = "message_id"      # or "upstream_message_id" (a port of the posting)


@dataclass
class Found:
    spec: object                 # the matrix's JobSpec for this revision
    job: object | None = None    # its JobSummary, when a result with the same inputs exists
    base: object | None = None   # the baseline job's JobSummary
    notes: list[str] = field(default_factory=list)


def _ids(value: str | None) -> list[str]:
    return re.findall(r"<([^<>\s]+)>", value or "")


def parse_message(data: bytes) -> Message:
    """The message-id, subject and references of the message on stdin."""
    if not data.strip():
        raise InputError("no message on standard input (b4 pipes one RFC 2822 message)",
                         path="<stdin>")
    msg = email.message_from_bytes(data, policy=email.policy.default)
    ids = _ids(str(msg.get("Message-ID", "")))
    if not ids:
        raise InputError("the message has no Message-ID header", path="<stdin>", line=1)
    refs = _ids(str(msg.get("In-Reply-To", "")))
    refs += [r for r in reversed(_ids(str(msg.get("References", "")))) if r not in refs]
    return Message(ids[0], " ".join(str(msg.get("Subject", "")).split()), refs)


def find_target(message: Message, series_list: list, series_level: bool) -> Target | None:
    """The revision whose posting this message is (or a patch of), if any.

    A revision's own message_id wins over a port's upstream_message_id."""
    for via in ("message_id", "upstream_message_id"):
        for s in series_list:
            for rev in s.revisions:
                mid = getattr(rev, via)
                if not mid:
                    continue
                mid = mid.strip("<>")
                if message.msgid == mid:
                    num = message.patch_number
                    patch = num[0] if num and num[0] > 0 and not series_level else None
                    return Target(s, rev, patch, via)
                if mid in message.refs:
                    num = message.patch_number
                    patch = None if series_level or num is None or num[0] == 0 else num[0]
                    return Target(s, rev, patch, via)
    return None


def _patch_hashes(target: Target) -> list[str] | None:
    """The sha256 of each patch of the revision on disk, None when it has none."""
    from patches.source import load_patches
    try:
        items = load_patches(target.series, target.rev)
    except Exception:  # noqa: BLE001 - not fetched, no patches yet: no hash to match
        return None
    return [p.sha256 for p in items] or None


def _same_inputs(man: dict, spec_dict: dict) -> bool:
    job = man.get("job", {})
    return all(job.get(k, spec_dict.get(k)) == spec_dict.get(k) for k in INPUT_KEYS)


def _results(root: Path) -> list[tuple[dict, Path]]:
    """(manifest, job dir) of every finished job under the results root, newest first."""
    from results.store import find_jobs
    out = []
    if not Path(root).is_dir():
        return out
    for p in find_jobs(Path(root)):
        f = p / "manifest.json"
        if not f.is_file():
            continue
        try:
            man = read_json(f)
            state = read_json(p / "summary.json").get("state")
        except ValueError:
            continue
        if state == "complete":
            out.append((man, p))
    out.sort(key=lambda mp: mp[0].get("started") or "", reverse=True)
    return out


def find_result(spec, results: list[tuple[dict, Path]], hashes: list[str] | None):
    """The newest finished job with the spec's inputs (and patches), or None."""
    from results.store import load_job
    want = spec.to_dict()
    for man, path in results:
        if not _same_inputs(man, want):
            continue
        if hashes is not None and not spec.base_only:
            got = [p.get("sha256") for p in man.get("facts", {}).get("apply", {})
                   .get("patches", [])]
            expected = list(hashes[:spec.upto] if spec.upto else hashes)
            if spec.skip and 0 < spec.skip <= len(expected):
                del expected[spec.skip - 1]
            if got != expected:
                continue
        return load_job(path)
    return None


def matrix_specs(matrix: Path, target: Target) -> tuple[list, list]:
    """(the matrix's jobs for the target's revision, its base jobs)."""
    from pipeline.matrix import load_matrix
    specs = load_matrix(matrix)
    mine = [replace(s, rev=target.rev.label, name=None) for s in specs
            if s.series == target.series.name and s.rev in (None, target.rev.label)]
    return mine, [s for s in specs if s.base_only]


def _base_for(spec, bases: list):
    return next((b for b in bases if (b.tree, b.profile, b.toolchain, b.arch)
                 == (spec.tree, spec.profile, spec.toolchain, spec.arch)), None)


def lookup(target: Target, matrix: Path, root: Path) -> list[Found]:
    """Each matrix job of the revision with its finished result and baseline, if any."""
    mine, bases = matrix_specs(matrix, target)
    results = _results(root)
    hashes = _patch_hashes(target)
    out = []
    for spec in mine:
        f = Found(spec, find_result(spec, results, hashes))
        b = _base_for(spec, bases)
        if b is not None:
            f.base = find_result(replace(b, name=None), results, None)
            if f.base is None:
                f.notes.append(f"no finished baseline {b.label()} in {root}")
        else:
            f.notes.append("the matrix has no base job for this profile and toolchain")
        if hashes is None:
            f.notes.append("the revision's patches are not on disk: matched by "
                           "series@rev and job options only")
        out.append(f)
    return out


def judge(found: Found) -> tuple[str, list[str]]:
    """(status, detail lines) of one job: fail on a regression against the baseline,
    a new splat, a new warning or a job that stopped before its tests; warn on a
    flaky test; pass otherwise."""
    from results.compare import compare_jobs, reached_tests, reached_text
    from results.report import new_warnings
    from results.verdicts import job_verdicts
    job = found.job
    assert job is not None
    lines: list[str] = []
    status = "pass"
    if not reached_tests(job):
        return "fail", [f"the job did not reach its tests: {reached_text(job)}"]
    new_splats = [sp for sp in job.splats if not sp.known]
    warns = new_warnings(job)
    if found.base is not None:
        cmp = compare_jobs(found.base, job)
        lines += [f"new failure: {c.test} ({c.before or 'absent'} -> {c.after})"
                  for c in cmp.new_failures]
        lines += [f"stage regression: {c.test} ({c.before} -> {c.after})"
                  for c in cmp.stage_regressions]
        splats = cmp.new_splats or new_splats
        bad = cmp.regressed
    else:
        fails = [v for v in job_verdicts(job) if v.status.is_bad and v.splat is None]
        lines += [f"failure (no baseline to compare): {v.path}" for v in fails]
        splats = new_splats
        bad = bool(fails)
    known = {sp.fingerprint for sp in job.splats if sp.known}
    splats = [sp for sp in splats if sp.fingerprint not in known]
    lines += [f"new splat [{sp.fingerprint[:12]}] {sp.kind}: {sp.title}"
              + (f" (during {sp.test})" if sp.test else "") for sp in splats]
    lines += [f"new warning: {w}" for w in warns]
    if bad or splats or warns:
        status = "fail"
    flaky = [v.path for v in job_verdicts(job) if v.status.value == "flaky"]
    if flaky:
        lines += [f"flaky: {p}" for p in flaky]
        status = "warn" if status == "pass" else status
    return status, lines


def summary_line(job, status: str, n_warn: int) -> str:
    c = job.counts()
    bad = sum(c.get(k, 0) for k in ("fail", "timeout", "error", "missing"))
    return (f"{job.job}: {status}: pass {c.get('pass', 0) + c.get('xfail', 0)}, fail {bad}, "
            f"skip {c.get('skip', 0)}, flaky {c.get('flaky', 0)}, "
            f"new splats {sum(1 for s in job.splats if not s.known)}, new warnings {n_warn}")


def result_entry(found: Found) -> dict:
    """One b4 check result for one job."""
    from results.report import new_warnings
    if found.job is None:
        why = ["no finished result with the same inputs "
               f"({found.spec.label()}); run `harness.py b4-check --run` or the matrix"]
        return {"tool": TOOL, "status": "warn",
                "summary": f"{found.spec.label()}: not tested yet",
                "url": "", "details": "\n".join(why + found.notes)}
    status, lines = judge(found)
    report = found.job.path / "report.html"
    details = lines or ["no new failures, splats or warnings"]
    return {"tool": TOOL, "status": status,
            "summary": summary_line(found.job, status, len(new_warnings(found.job))),
            "url": report.resolve().as_uri() if report.is_file() else "",
            "details": "\n".join(details + found.notes + [f"results: {found.job.path}"])}


def no_target(message: Message) -> list[dict]:
    return [{"tool": TOOL, "status": "warn",
             "summary": "not a known series posting: nothing to test",
             "url": "",
             "details": f"message-id {message.msgid} is no revision's message_id or "
                        "upstream_message_id in patches/series/*/series.yaml, nor does it "
                        "reply to one; add the posting to a series manifest "
                        "(harness.py fetch) to test it"}]


def check(data: bytes, *, series_level: bool, matrix: Path, root: Path,
          series_list: list | None = None, run=None) -> list[dict]:
    """b4's JSON array for the message in `data`. `run(specs)`, when given, runs
    the jobs that have no result (and their baselines) before judging."""
    from patches.manifest import all_series
    message = parse_message(data)
    target = find_target(message, all_series() if series_list is None else series_list,
                         series_level)
    if target is None:
        return no_target(message)
    found = lookup(target, matrix, root)
    if not found:
        return [{"tool": TOOL, "status": "warn",
                 "summary": f"{target.series.name}@{target.rev.label}: not in the matrix",
                 "url": "", "details": f"{matrix} has no job for series "
                                       f"{target.series.name}; add one to test it"}]
    if run is not None and any(f.job is None or f.base is None for f in found):
        mine, bases = matrix_specs(matrix, target)
        need = [b for b in bases if any(f.base is None and _base_for(f.spec, [b]) is b
                                        for f in found)]     # bases first: their warnings
        need += [f.spec for f in found if f.job is None]
        if need:
            run(need)
            found = lookup(target, matrix, root)
    where = f"{target.series.name}@{target.rev.label}"
    if target.via == "upstream_message_id":
        where += " (the port of this posting)"
    if target.patch is not None:
        where += f", patch {target.patch}"
    out = [result_entry(f) for f in found]
    for e in out:
        e["details"] = f"revision: {where}\n" + e["details"]
    return out
