"""bisect-commits is safe with the user's checkout (issue 25): a bisect the user
has in progress there is refused (exit 2, saying so), never reset."""
from __future__ import annotations

import subprocess

import harness
from test_bisect_drivers import git


def test_bisect_commits_refuses_a_bisect_in_progress(tmp_path, capsys):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    for i in range(4):
        (repo / "n").write_text(str(i))
        git(repo, "add", "n")
        git(repo, "commit", "-qm", f"commit {i}")
    git(repo, "bisect", "start", "HEAD", "HEAD~3")
    before = (repo / ".git" / "BISECT_LOG").read_text()
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout
    code = harness.main(["bisect-commits", "HEAD~3", "HEAD", "--repo", str(repo),
                         "--profile", "small", "--criterion", "build",
                         "--results", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "a git bisect is in progress there" in err and "bisect reset" in err
    assert (repo / ".git" / "BISECT_LOG").read_text() == before
    assert subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                          text=True).stdout == head
