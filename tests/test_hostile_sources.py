"""Untrusted series content: quilt series entries that leave the series dir (`..`,
an absolute path, a symlink out) are refused, through `harness.py series show`;
a `.j2` fragment template cannot reach Python (Jinja2's sandbox)."""
import os

import pytest

import harness
from common.errors import InputError
from configs.fragment import load_fragment
from test_patches_common import cache, write_manifest  # noqa: F401

BASE = {"tree": "fake", "ref": "v6.12.117"}


def quilted(cache, entry: str):
    d = write_manifest(cache, "quilted", [{"version": "r1", "date": "2025-01-02",
                                           "message_id": "r1@example.org", "base": BASE,
                                           "source": {"quilt": "q/series"}}])
    (d / "q").mkdir()
    (d / "q" / "series").write_text(f"{entry}\n")
    (d / "secret.patch").write_text("--- a/x\n+++ b/x\n")   # what `..` would reach
    return d


@pytest.mark.parametrize("entry", ["../secret.patch", "sub/../../secret.patch"])
def test_a_quilt_entry_with_dotdot_is_refused(cache, capsys, entry):  # noqa: F811
    quilted(cache, entry)
    harness.main(["series", "show", "quilted"])
    out = capsys.readouterr()
    assert "leaves the series dir" in out.out + out.err


def test_a_quilt_entry_with_an_absolute_path_is_refused(cache, capsys):  # noqa: F811
    d = quilted(cache, "PLACEHOLDER")
    (d / "q" / "series").write_text(f"{d / 'secret.patch'}\n")
    harness.main(["series", "show", "quilted"])
    out = capsys.readouterr()
    assert "leaves the series dir" in out.out + out.err


def test_a_quilt_entry_linking_out_is_refused(cache, capsys):  # noqa: F811
    d = quilted(cache, "link.patch")
    os.symlink(d / "secret.patch", d / "q" / "link.patch")
    harness.main(["series", "show", "quilted"])
    out = capsys.readouterr()
    assert "link out of the series dir" in out.out + out.err


@pytest.mark.parametrize("template", [
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% set x = self._TemplateReference__context %}{{ x }}",
])
def test_a_fragment_template_cannot_reach_python(tmp_path, monkeypatch, template):
    monkeypatch.chdir(tmp_path)
    t = tmp_path / "evil.config.j2"
    t.write_text(f"CONFIG_X=y\n{template}\n")
    with pytest.raises(InputError) as e:
        load_fragment(t, {})
    assert str(t) in str(e.value) and not (tmp_path / "MARK").exists()


def test_a_fragment_template_still_renders_its_parameters(tmp_path):
    t = tmp_path / "ok.config.j2"
    t.write_text("CONFIG_NR_CPUS={{ cpus }}\n{% if debug %}CONFIG_DEBUG_INFO=y\n{% endif %}")
    frag = load_fragment(t, {"cpus": 4, "debug": True})
    assert [(s.symbol, s.value) for s in frag.settings] == [("NR_CPUS", "4"),
                                                             ("DEBUG_INFO", "y")]


def dsc_tree(tmp_path, entry: str):
    from patches.archive import Dsc
    patches = tmp_path / "src" / "debian" / "patches"
    patches.mkdir(parents=True)
    (patches / "series").write_text(f"{entry}\n")
    (patches / "ok.patch").write_text("--- a/x\n+++ b/x\n")
    (tmp_path / "src" / "debian" / "evil.patch").write_text("--- a/x\n+++ b/x\n")
    return Dsc(tmp_path / "linux.dsc", "linux", "6.12-1", "M <m@x>", tmp_path / "o.tar.xz",
               tmp_path / "d.tar.xz"), tmp_path / "src"


def test_a_dsc_import_refuses_a_quilt_series_leaving_its_dir(tmp_path, cache):  # noqa: F811
    from patches.debsource import make_series
    dsc, src = dsc_tree(tmp_path, "../evil.patch")
    with pytest.raises(InputError) as e:
        make_series(dsc, "t", src)
    assert "leaves the series dir" in str(e.value)
    assert not (cache / "series" / "t-debian").exists()


def test_a_dsc_import_copies_links_as_links(tmp_path, cache):  # noqa: F811
    from patches.debsource import make_series
    dsc, src = dsc_tree(tmp_path, "ok.patch")
    os.symlink("/etc/hostname", src / "debian" / "patches" / "host")
    name = make_series(dsc, "t", src)
    copied = cache / "series" / name / "6.12-1" / "host"
    assert copied.is_symlink()
