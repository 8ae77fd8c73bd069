"""The robot's sparse report on fanotify v3 1/2 (202411260746.XEdTrLMj-lkp@intel.com),
reproduced on the project's port: `repro` finds v3-6.12 by the patch's message-id,
applies patch 1 only, builds just the two reported objects with sparse (C=1, and the
series' fanotify fragment on x86_64 defconfig, which has no fanotify: the robot's
randconfig is not here) and sees both "different address spaces" warnings; against
the NOT-upstream follow-up v3.1-6.12 the verdict is 'not reproduced'."""
import json
from pathlib import Path

import pytest

import harness

pytestmark = pytest.mark.integration
REPORT = Path(__file__).parent / "data" / "reports" / "fanotify-v3-sparse.txt"
# The revision's manifest names its suite (fanotify-filter), which a build report
# never boots; the robot's randconfig is not here, so the series' fragment is asked
# for on the arch's defconfig.
OPTS = ["--make-flag", "C=1", "--fragment", "series/fanotify-bpf-v3"]


def verdict(results: Path) -> dict:
    return json.loads(next(results.rglob("repro/verdict.json")).read_text())


def test_sparse_report_reproduces_on_v3_and_v3_1_clears_it(default_tree, tmp_path, capsys):
    code = harness.main(["repro", str(REPORT), *OPTS, "--results", str(tmp_path / "v3")])
    out = capsys.readouterr().out
    assert code == 0, out
    v = verdict(tmp_path / "v3")
    assert v["verdict"] == "reproduced" and len(v["matched"]) == 2
    assert {m["seen"]["file"] for m in v["matched"]} == {
        "fs/notify/fanotify/fanotify_filter.c", "fs/notify/fanotify/fanotify.c"}
    assert all(m["line_drift"] == 0 for m in v["matched"])
    manifest = json.loads(next((tmp_path / "v3").rglob("manifest.json")).read_text())
    assert manifest["job"]["targets"] == ["fs/notify/fanotify/fanotify_filter.o",
                                          "fs/notify/fanotify/fanotify.o"]
    assert "C=1" in manifest["job"]["make_flags"]

    code = harness.main(["repro", str(REPORT), *OPTS, "--against", "fanotify-bpf@v3.1-6.12",
                         "--results", str(tmp_path / "v3.1")])
    out = capsys.readouterr().out
    assert code == 1, out
    v = verdict(tmp_path / "v3.1")
    assert v["verdict"] == "not reproduced" and len(v["missing"]) == 2
