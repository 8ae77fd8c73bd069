import subprocess
import sys

from bisect_fakes import FakePipeline
from bisection.criteria import parse_criterion
from bisection.drivers import bisect_commits, bisect_patches, step_exit_code
from common.proc import Runner
from pipeline.job import JobSpec


CRIT = parse_criterion("test:kernel_facts/release_ok")


def test_third_patch_breaks(tmp_path):
    fake = FakePipeline(tmp_path, lambda s, n: "fail" if (s.upto or 0) >= 3 else "pass")
    res, cands, summary, _ = bisect_patches("kharness-fixture", "v2", CRIT, fake,
                                         JobSpec(profile="small"), tmp_path)
    assert res.status == "found" and cands[res.first_bad].upto == 3
    assert "first bad: 3 patches: kbuild: mark the fixture kernel's release as broken" in summary
    assert "fail:runs 3:3" in summary
    assert (tmp_path / "bisect.log").exists() and (tmp_path / "bisect.json").exists()


def test_flaky_step_is_reported_with_counts(tmp_path):
    seen = {}

    def script(spec, n):
        seen[spec.upto] = seen.get(spec.upto, 0) + 1
        if spec.upto == 3:
            return "fail"
        if spec.upto == 2:            # fails first, passes on the retry
            return "fail" if seen[2] == 1 else "pass"
        return "pass"
    fake = FakePipeline(tmp_path, script)
    res, _, summary, _ = bisect_patches("kharness-fixture", "v2", CRIT, fake, JobSpec(), tmp_path)
    assert res.status == "flaky" and "candidate 2 is flaky (fail:runs 1:2)" in res.message
    assert "2 patches: kbuild: tag the fixture kernel's release: flaky fail:runs 1:2" in summary


def test_build_failure_is_a_skip(tmp_path):
    fake = FakePipeline(tmp_path, lambda s, n: {2: "build-fails", 3: "fail"}.get(s.upto, "pass"))
    res, cands, summary, _ = bisect_patches("kharness-fixture", "v2", CRIT, fake, JobSpec(),
                                         tmp_path)
    assert res.status == "all-skipped" and "2..3" in res.message
    assert "skip" in summary


def test_step_exit_codes():
    assert [step_exit_code(v) for v in ("good", "bad", "skip")] == [0, 1, 125]


def git(repo, *args):
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                   env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "PATH": "/usr/bin:/bin",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "HOME": "/tmp"})


def test_bisect_commits_with_a_real_git_range_and_a_skip(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    shas = []
    for i in range(8):
        state = "BROKEN" if i >= 5 else ("UNBUILDABLE" if i == 3 else "fine")
        (repo / "state").write_text(state)
        (repo / "n").write_text(str(i))
        git(repo, "add", "state", "n")
        git(repo, "commit", "-qm", f"commit {i}")
        shas.append(subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                                   capture_output=True, text=True).stdout.strip())
    step = [sys.executable, "-c",
            "import sys; s=open('state').read(); "
            "sys.exit(125 if s=='UNBUILDABLE' else (1 if s=='BROKEN' else 0))"]
    out = tmp_path / "out"
    first, log = bisect_commits(repo, shas[0], shas[-1], step, Runner(), out)
    assert first == shas[5]
    assert "git bisect bad" in log and (out / "bisect.log").exists()
    assert not (repo / ".git" / "BISECT_LOG").exists()   # reset afterwards
