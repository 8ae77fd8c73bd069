"""Tree import (tarball, .deb, .dsc, dir, git), idempotence, tree definitions, fix-ups."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from common.errors import InfraError, InputError
from patches import archive, treeimport
from patches.manifest import find_series
from patches.source import load_patches
from patches.treedefs import find_treedef, load_treedef, tree_extras
from patches.treeimport import ImportRequest, import_tree, list_trees, tree_info
from test_patches_common import (cache, git, git_repo, runner, tarball,  # noqa: F401
                                 write_tree)

KTREE = Path("/work/ktree/linux-source-6.12")


def repo_git(repo: Path, *args: str) -> str:
    return git(repo, *args)


def test_tarball_import_tags_base_and_drops_debian_ignore(cache, runner, tmp_path):
    tb = tarball(write_tree(tmp_path / "src"), tmp_path / "linux-source-6.12.tar.xz")
    res = import_tree(ImportRequest(str(tb), name="fake"), runner)
    assert res.kind == "tarball" and not res.reused
    assert res.tags == ["base", "v6.12.117"]
    assert res.repo == cache / "trees" / "fake"
    assert repo_git(res.repo, "rev-parse", "v6.12.117^{commit}").strip() == res.commit
    files = repo_git(res.repo, "ls-tree", "-r", "--name-only", "base").split()
    assert files == [".gitignore", "Makefile", "fs/namei.c", "kernel/bpf/iter.c"]
    ignore = repo_git(res.repo, "show", "base:.gitignore")
    assert "/*" not in ignore.split("\n") and "*.kdev4" in ignore
    assert "Debian packaging" in repo_git(res.repo, "log", "-1", "--format=%B", "base")
    assert [t.name for t in list_trees()] == ["fake"]


def test_same_input_twice_is_a_noop(cache, runner, tmp_path):
    tb = tarball(write_tree(tmp_path / "src"), tmp_path / "t.tar.gz")
    first = import_tree(ImportRequest(str(tb), name="fake"), runner)
    mtime = (first.repo / "kharness-tree.json").stat().st_mtime_ns
    again = import_tree(ImportRequest(str(tb), name="fake"), runner)
    assert again.reused and again.commit == first.commit
    by_name = import_tree(ImportRequest("fake"), runner)
    assert by_name.reused and by_name.commit == first.commit
    assert (first.repo / "kharness-tree.json").stat().st_mtime_ns == mtime


def test_same_name_from_other_input_is_refused(cache, runner, tmp_path):
    src = write_tree(tmp_path / "src")
    import_tree(ImportRequest(str(tarball(src, tmp_path / "a.tar.xz")), name="fake"), runner)
    (src / "fs/namei.c").write_text("changed\n")
    with pytest.raises(InputError, match="imported from another input"):
        import_tree(ImportRequest(str(tarball(src, tmp_path / "b.tar.xz")), name="fake"),
                    runner)
    assert tree_info("fake").source.endswith("a.tar.xz")


def test_directory_import(cache, runner, tmp_path):
    src = write_tree(tmp_path / "mytree")
    res = import_tree(ImportRequest(str(src)), runner)
    assert res.name == "mytree" and res.kind == "dir"
    assert import_tree(ImportRequest(str(src)), runner).reused


def test_git_checkout_with_ref(cache, runner, tmp_path):
    repo = git_repo(tmp_path / "k")
    (repo / "extra.c").write_text("x\n")
    git(repo, "add", "-f", "extra.c")
    git(repo, "commit", "-q", "-m", "later")
    res = import_tree(ImportRequest(str(repo), ref="v6.12.117", name="k"), runner)
    assert res.kind == "git"
    assert res.commit == git(repo, "rev-parse", "v6.12.117").strip()
    assert import_tree(ImportRequest(str(repo), ref="v6.12.117", name="k"), runner).reused
    with pytest.raises(InputError, match="does not exist"):
        import_tree(ImportRequest(str(repo), ref="no-such-ref", name="k2"), runner)
    assert tree_info("k2") is None


def fake_deb(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "DEBIAN").mkdir(parents=True)
    (pkg / "DEBIAN/control").write_text(
        "Package: linux-source-6.12\nVersion: 6.12.117-1\nArchitecture: all\n"
        "Maintainer: Test <t@example.org>\nDescription: fake\n")
    (pkg / "usr/src").mkdir(parents=True)
    tarball(write_tree(tmp_path / "src"), pkg / "usr/src/linux-source-6.12.tar.xz")
    deb = tmp_path / "linux-source-6.12_6.12.117-1_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", str(pkg), str(deb)],
                   check=True, capture_output=True)
    return deb


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb")
def test_deb_import_names_tree_debian_x_y(cache, runner, tmp_path):
    res = import_tree(ImportRequest(str(fake_deb(tmp_path))), runner)
    assert res.name == "debian-6.12" and res.kind == "deb"
    assert "v6.12.117" in res.tags and res.notes


def fake_dsc(tmp_path: Path) -> Path:
    orig = tarball(write_tree(tmp_path / "orig"), tmp_path / "linux_6.12.117.orig.tar.xz",
                   top="linux-6.12.117")
    deb = tmp_path / "debsrc" / "debian" / "patches"
    (deb / "bugfix").mkdir(parents=True)
    (deb / "series").write_text("# Debian's own\nbugfix/namei-value.patch\n")
    (deb / "bugfix/namei-value.patch").write_text(
        "Description: give namei_3 a value\n---\n--- a/fs/namei.c\n+++ b/fs/namei.c\n"
        "@@ -2,3 +2,3 @@\n int namei_2;\n-int namei_3;\n+int namei_3 = 3;\n int namei_4;\n")
    debtar = tmp_path / "linux_6.12.117-1.debian.tar.xz"
    subprocess.run(["tar", "-cJf", str(debtar), "-C", str(tmp_path / "debsrc"), "debian"],
                   check=True)
    sums = "\n".join(f" {archive.file_sha256(p)} {p.stat().st_size} {p.name}"
                     for p in (orig, debtar))
    dsc = tmp_path / "linux_6.12.117-1.dsc"
    dsc.write_text(f"Format: 3.0 (quilt)\nSource: linux\nVersion: 6.12.117-1\n"
                   f"Maintainer: Debian Kernel Team <debian-kernel@lists.debian.org>\n"
                   f"Checksums-Sha256:\n{sums}\n")
    return dsc


def test_dsc_import_gives_vanilla_tree_and_quilt_series(cache, runner, tmp_path):
    res = import_tree(ImportRequest(str(fake_dsc(tmp_path)), name="vanilla"), runner)
    assert res.series == ["vanilla-debian"]
    assert "int namei_3;\n" in git(res.repo, "show", "base:fs/namei.c")
    assert "debian/" not in git(res.repo, "ls-tree", "--name-only", "base")
    s = find_series("vanilla-debian")
    rev = s.revisions[0]
    assert rev.label == "6.12.117-1" and rev.base.tree == "vanilla"
    items = load_patches(s, rev)
    assert [i.subject for i in items] == ["namei value"]
    assert items[0].author.startswith("Debian Kernel Team")


def test_dsc_with_wrong_checksum_is_refused(cache, runner, tmp_path):
    dsc = fake_dsc(tmp_path)
    (tmp_path / "linux_6.12.117-1.debian.tar.xz").write_bytes(b"tampered")
    with pytest.raises(InputError, match="sha256 does not match") as e:
        import_tree(ImportRequest(str(dsc), name="vanilla"), runner)
    assert e.value.line == 6
    assert tree_info("vanilla") is None and not (cache / "trees" / "vanilla").exists()


def test_unknown_source_names_the_other_sources(cache, runner):
    with pytest.raises(InputError, match="tarball"):
        import_tree(ImportRequest("no-such-tree"), runner)


def test_default_tree_without_apt_fails_clearly(cache, runner, monkeypatch):
    monkeypatch.setattr("patches.treeimport.shutil.which", lambda name: None)
    with pytest.raises(InfraError) as e:
        import_tree(ImportRequest("debian-6.12"), runner)
    text = str(e.value)
    assert "apt-get is not available" in text
    for other in (".deb", "tarball", ".dsc", "directory", "git"):
        assert other in text
    assert tree_info("debian-6.12") is None


def test_debian_tree_definition_has_fixup_and_denylist():
    td = find_treedef("debian-6.12")
    assert td.source == {"apt": "linux-source-6.12", "version": "6.12.117-1~deb12u1"}
    ex = tree_extras("debian-6.12")
    assert [f.path.name for f in ex.fixups] == ["0001-selftests-bpf-drop-bpf_attr_size.patch"]
    assert "cgroup_skb_direct_packet_access" in ex.fixups[0].reason
    assert ex.denied("test_progs") == ["bpf_attr_size"] and ex.denied("kselftest") == []
    assert tree_extras("no-such-tree").fixups == []


@pytest.mark.skipif(not (KTREE / ".git").exists(), reason="needs the 6.12.117 tree")
def test_debian_fixup_applies_to_6_12_117(runner):
    """Checked with `git apply --check` only: the tree is not modified."""
    patch = tree_extras("debian-6.12").fixups[0].path
    res = runner.run(["git", "apply", "--check", str(patch)], cwd=KTREE)
    assert res.returncode == 0, res.stderr
    prog_tests = KTREE / "tools/testing/selftests/bpf/prog_tests"
    missing = [p.name for p in prog_tests.glob("*.c")
               if "cgroup_skb_direct_packet_access.skel.h" in p.read_text(errors="replace")]
    assert missing == ["bpf_attr_size.c"]
    assert not (KTREE / "tools/testing/selftests/bpf/progs/"
                "cgroup_skb_direct_packet_access.c").exists()


def test_tree_definition_errors_name_file_and_line(tmp_path):
    d = tmp_path / "bad"
    d.mkdir()
    (d / "tree.yaml").write_text("name: bad\ndescription: x\nsource: {apt: p}\n"
                                 "denylist:\n  - suite: test_progs\n    test: foo\n")
    with pytest.raises(InputError, match="'reason'") as e:
        load_treedef(d / "tree.yaml")
    assert e.value.line == 5
    deny = "denylist:\n  - suite: test_progs\n    test: foo\n    reason: r\n"
    for extra, line, msg in (("    toolchain: icc\n", 9, "unknown toolchain 'icc'"),
                             ("    expires: soon\n", 9, "must be a date"),
                             ("    owner: me\n", 9, "unknown key 'owner'")):
        (d / "tree.yaml").write_text("name: bad\ndescription: x\nsource: {apt: p}\n" + deny
                                     + "    accel: tcg\n" + extra)
        with pytest.raises(InputError, match=msg) as e:
            load_treedef(d / "tree.yaml")
        assert e.value.line == line and str(e.value).startswith(f"{d / 'tree.yaml'}:{line}: ")


def test_kernel_version_and_gitignore_block(tmp_path):
    assert archive.kernel_version("VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\n"
                                  "EXTRAVERSION = -rc3\n") == "v6.12-rc3"
    root = write_tree(tmp_path)
    assert archive.drop_debian_gitignore(root)
    assert (root / ".gitignore").read_text() == "*.o\n*.ko\n\n# Kdevelop4\n*.kdev4\n"
    assert not archive.drop_debian_gitignore(root)


@pytest.mark.integration
@pytest.mark.skipif(shutil.which("apt-get") is None, reason="needs apt-get")
def test_import_real_default_tree(runner):
    """apt-get download linux-source-6.12, import it into the real cache (kept: the
    second run is a no-op), and check the base, its tags and the fix-up."""
    res = import_tree(ImportRequest("debian-6.12"), runner)
    assert res.name == "debian-6.12" and {"base", "v6.12.117"} <= set(res.tags)
    assert import_tree(ImportRequest("debian-6.12"), runner).reused
    ignore = git(res.repo, "show", "base:.gitignore")
    assert "Debian packaging" not in ignore
    assert "linux-source-6.12" in git(res.repo, "log", "-1", "--format=%B", "base")
    git(res.repo, "cat-file", "-e",
        "base:tools/testing/selftests/bpf/prog_tests/bpf_attr_size.c")
    assert treeimport.tree_info("debian-6.12").commit == res.commit
