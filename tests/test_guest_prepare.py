"""selftests/guest/prepare.sh, run for real in a private mount namespace (root and
unshare(1), as in the guest): the first suite of a boot gets a private /tmp with
its host paths bound back, and a later suite of the same boot gets its own paths
bound back too. Found by the first cold `make test` with HARNESS_CACHE under /tmp:
Landlock's kselftests, path-iterator's second suite, ran from an install dir the
first suite had not named, and `cp -a` found nothing."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from selftests.guest import PREPARE, parse_prepare

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="needs root and unshare(1) for a private mount namespace")

SEP = "=== kh-test"


def prepare(*paths: Path) -> str:
    """The guest's call (selftests.guest.prepare_guest): the script's own dir is
    kept too, or a checkout under /tmp could not run it for a later suite."""
    return f"sh {PREPARE} {PREPARE.parent} " + " ".join(map(str, paths))


@pytest.fixture
def host_tmp():
    """Two runner dirs under the host's /tmp, as HARNESS_CACHE=/tmp/... makes them."""
    top = Path(tempfile.mkdtemp(prefix="kh-prepare-", dir="/tmp"))
    try:
        dirs = []
        for name in ("selftests-bpf-runtime", "kselftest_install"):
            (top / name).mkdir()
            (top / name / "marker").write_text(name + "\n")
            dirs.append(top / name)
        yield dirs
    finally:
        shutil.rmtree(top, ignore_errors=True)


def run_in_namespace(*steps: str) -> list[str]:
    """Each step's output, in one private mount namespace with its own /run (the
    guest's once-per-boot state lives there)."""
    lines = ["mount -t tmpfs kh-run /run"]
    for i, step in enumerate(steps):
        lines += [f"echo '{SEP} {i}'", step]
    res = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                          "\n".join(lines)], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    parts = res.stdout.split(SEP)[1:]
    return [p.split("\n", 1)[1] if "\n" in p else "" for p in parts]


def test_a_later_suite_of_the_boot_sees_its_own_paths(host_tmp):
    first, second = host_tmp
    out = run_in_namespace(prepare(first), prepare(second),
                           f"cat {first}/marker {second}/marker",
                           "grep -c ' /tmp tmpfs ' /proc/self/mounts")
    one, two = parse_prepare(out[0]), parse_prepare(out[1])
    assert one.tmp == "mounted" and one.binds[str(first)] == "mounted"
    assert str(second) not in one.binds
    assert two.tmp == "mounted"
    assert two.binds[str(first)] == two.binds[str(second)] == "mounted"
    assert out[2].split() == ["selftests-bpf-runtime", "kselftest_install"]
    assert out[3].strip() == "1"                # /tmp made private once, not per suite


def test_a_path_the_host_lacks_is_reported_failed(host_tmp):
    first, _ = host_tmp
    gone = first.parent / "never-built"
    out = run_in_namespace(prepare(first), prepare(gone))
    assert parse_prepare(out[1]).binds[str(gone)] == "failed"
    assert f"bind {gone}" in parse_prepare(out[1]).failed
