"""Series manifests: the three real ones, schema errors with file and line, patch
reading (mbox order, quilt, names), and the CLI listing."""
from __future__ import annotations

import textwrap

import pytest

import harness
from common.errors import InputError
from common.fsutil import REPO_ROOT
from patches.diffcheck import parse_diff
from patches.mailbox import split_mbox, subject_from_filename
from patches.manifest import all_series, find_series, load_series
from patches.source import read_quilt, revision_status
from test_patches_common import DATA, cache  # noqa: F401

REAL = ["fanotify-bpf", "iter-pagecache", "path-iterator"]


def test_three_real_manifests_load(cache):
    series = {s.name: s for s in all_series()}
    assert set(REAL) <= set(series)
    pi = series["path-iterator"]
    assert [r.label for r in pi.revisions] == ["v1", "v2", "v3", "v4", "v5", "v2-6.12",
                                               "v5-6.12", "v5.1-6.12"]
    v5 = pi.revision("v5")
    assert v5.lore_url == "https://lore.kernel.org/r/20250617061116.3681325-1-song@kernel.org"
    assert v5.date == "2025-06-16" and v5.patches == 5 and str(v5.base) == "bpf-next@master"
    port = pi.revision("v5-6.12")
    assert port.kind == "port" and port.upstream_message_id == v5.message_id
    assert str(port.base) == "debian-6.12@v6.12.117"
    assert port.tests.test_progs == ["path_iter"] and port.kconfig == ["CONFIG_BPF_LSM"]
    assert port.fragments == ["series/path-iterator"]
    assert any(c.startswith("lsm=") and c.endswith(",bpf") for c in port.cmdline)
    assert pi.revision("v5.1-6.12").kind == "local"
    fan = series["fanotify-bpf"]
    assert [r.patches for r in fan.revisions[:3]] == [5, 7, 2]
    assert fan.revision("v2-6.12").upstream == "v2"
    assert "CONFIG_FANOTIFY_FASTPATH" in fan.revision("v2-6.12").kconfig
    assert "CONFIG_FANOTIFY_FASTPATH" not in fan.revision("v1-6.12").kconfig
    assert fan.revision("v1").tests.test_progs == ["bpf_fanotify_fastpath"]
    ip = series["iter-pagecache"]
    assert ip.revision("rfc").message_id == "cover.1617831474.git.dxu@dxuuu.xyz"
    assert ip.revision("rfc").tests.test_progs == []
    assert ip.revision("rfc-6.12").tests.test_progs == ["iter_pagecache"]
    assert "page_cache_get_speculative" in ip.revision("rfc").notes


def test_real_postings_list_as_not_fetched_or_present(cache):
    for s in all_series():
        for r in s.revisions:
            st = revision_status(s, r)
            assert st.state in ("not fetched", "no patches yet", "present"), (r.label, st.error)
            if st.state == "not fetched":
                assert r.kind == "posting"


GOOD = """\
name: demo
title: demo series
authors: [Ann Dev <ann@example.org>]
list: bpf@vger.kernel.org
defaults:
  base: {tree: fake}
revisions:
  - version: v1
    date: 2025-01-02
    message_id: <a@example.org>
"""


def load(tmp_path, text: str):
    d = tmp_path / "demo"
    d.mkdir(exist_ok=True)
    (d / "series.yaml").write_text(text)
    return load_series(d / "series.yaml")


def test_good_manifest_strips_angle_brackets(tmp_path):
    s = load(tmp_path, GOOD)
    assert s.revision("v1").message_id == "a@example.org"
    assert s.revision("v1").base.tree == "fake"


@pytest.mark.parametrize("extra,match,line", [
    ("    colour: red\n", "unknown key 'colour'", 11),
    ("  - version: v1\n    date: 2025-01-03\n    message_id: b@example.org\n",
     "duplicate revision label 'v1' \\(first at line 8\\)", 11),
    ("  - version: v2\n    date: 2025-13-01\n    message_id: b@example.org\n",
     "bad value: month must be in 1..12", 12),
    ("  - version: v2\n    date: June 2025\n    message_id: b@example.org\n",
     "'date' must be a date like 2025-06-16", 12),
    ("  - version: v2\n    date: 2025-01-03\n    message_id: not a msgid\n",
     "is not a message-id", 13),
    ("  - version: 2\n    message_id: b@example.org\n", "'version' must be a non-empty string", 11),
    ("  - version: v2\n    upstream: v9\n", "upstream 'v9': no such other revision", 12),
    ("  - version: v2\n    notes: nothing\n", "needs a message_id", 11),
    ("  - version: v2\n    message_id: b@example.org\n", "needs its 'date'", 11),
    ("  - version: v2\n    follows: v1\n    source: {dir: ../../etc}\n",
     "must stay inside the series dir", 13),
    ("  - version: v2\n    follows: v1\n    tests: {test_progs: ['a; rm']}\n",
     "'test_progs': 'a; rm' is not valid", 13),
    ("  - version: v2\n    follows: v1\n    patches: 0\n", "'patches' must be a positive", 13),
    ("  - version: v2\n    follows: v1\n    source: {dir: a, mbox: b}\n",
     "exactly one of dir, mbox, quilt", 13),
    ("  - version: v2\n    follows: v1\n    base: {tree: Bad Name}\n", "'tree'", 13),
])
def test_schema_errors_name_file_and_line(tmp_path, extra, match, line):
    with pytest.raises(InputError, match=match) as e:
        load(tmp_path, GOOD + extra)
    assert e.value.path == str(tmp_path / "demo" / "series.yaml")
    assert e.value.line == line


def test_top_level_errors(tmp_path):
    with pytest.raises(InputError, match="does not match the directory") as e:
        load(tmp_path, GOOD.replace("name: demo", "name: other"))
    assert e.value.line == 1
    with pytest.raises(InputError, match="YAML syntax error") as e:
        load(tmp_path, GOOD + "  - version: [\n")
    assert e.value.line is not None
    with pytest.raises(InputError, match="missing required key 'title'"):
        load(tmp_path, GOOD.replace("title: demo series\n", ""))
    with pytest.raises(InputError, match="upstream_message_id does not match") as e:
        load(tmp_path, GOOD + "  - version: p\n    upstream: v1\n"
                              "    upstream_message_id: z@example.org\n")
    assert e.value.line == 13


def test_unknown_series_and_revision(cache):
    with pytest.raises(InputError, match="no series 'nope'"):
        find_series("nope")
    with pytest.raises(InputError, match=r"has no revision 'v9' \(it has: v1, v2"):
        find_series("path-iterator").revision("v9")


def test_mbox_order_drops_cover_and_replies(tmp_path):
    text = (DATA / "demo-v1.mbx").read_text()
    msgs = text.split("\nFrom ")
    reply = ("From 0000000000000000000000000000000000000009 Mon Sep 17 00:00:00 2001\n"
             "From: Rev Iewer <r@example.org>\nSubject: Re: [PATCH 1/2] fs: give namei_5 a "
             "value\n\nLooks good.\n")
    # patch 2 first, then a reply, then the cover and patch 1
    shuffled = "From " + msgs[2] + "\n" + reply + msgs[0] + "\n" + "From " + msgs[1] + "\n"
    p = tmp_path / "s.mbx"
    p.write_text(shuffled)
    items = split_mbox(p)
    assert [i.subject for i in items] == ["fs: give namei_5 a value", "bpf: add a path iterator"]
    assert items[0].author == "Ann Dev <ann@example.org>"
    assert [f.path for f in items[1].files] == ["kernel/bpf/iter.c", "kernel/bpf/path_iter.c"]


def test_quilt_series_errors_have_lines(tmp_path):
    (tmp_path / "series").write_text("# c\nok.patch\nmissing.patch\n")
    (tmp_path / "ok.patch").write_text("--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n")
    with pytest.raises(InputError, match="does not exist") as e:
        read_quilt(tmp_path / "series", author="A <a@x>")
    assert e.value.line == 3
    (tmp_path / "series").write_text("ok.patch -p1\nbad$(x).patch\n")
    with pytest.raises(InputError, match="shell metacharacters") as e:
        read_quilt(tmp_path / "series", author="A <a@x>")
    assert e.value.line == 2
    (tmp_path / "series").write_text("ok.patch -p0\n")
    items = read_quilt(tmp_path / "series", author="A <a@x>")
    assert items[0].strip == 0 and [f.path for f in items[0].files] == ["b/x"]


def test_diff_checks():
    files = parse_diff("--- a/f.c\n+++ b/f.c\n@@ -1,2 +1,2 @@\n-a\n+b\n c\n"
                       "@@ -10 +10 @@\n-x\n+y\n", "p")
    assert [(h.index, h.line) for h in files[0].hunks] == [(1, 3), (2, 7)]
    with pytest.raises(InputError, match="outside the tree"):
        parse_diff("--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-a\n+b\n", "p", strip=0)
    with pytest.raises(InputError, match="not a diff"):
        parse_diff("just words\n", "p")
    rename = parse_diff("diff --git a/x.c b/y.c\nsimilarity index 100%\nrename from x.c\n"
                        "rename to y.c\n", "p")
    assert rename[0].path == "y.c"
    with pytest.raises(InputError, match="outside the tree"):
        parse_diff("diff --git a/x.c b/y.c\nrename from x.c\nrename to ../y.c\n", "p")
    assert subject_from_filename("0003-bpf-add_path-iter.patch") == "bpf add path iter"


def test_cli_series_list_and_show(cache, capsys):
    assert harness.main(["series", "list"]) == 0
    out = capsys.readouterr().out
    assert "path-iterator: bpf: path iterator" in out
    assert "  v5             posting  not fetched" in out
    assert "  v5-6.12        port     " in out
    assert harness.main(["series", "show", "iter-pagecache"]) == 0
    out = capsys.readouterr().out
    assert "lore: https://lore.kernel.org/r/cover.1617831474.git.dxu@dxuuu.xyz" in out
    assert "follows upstream rfc" in out
    assert harness.main(["series", "show", "nope"]) == 2


def test_cli_apply_bad_spec_is_usage_error(cache, capsys):
    assert harness.main(["apply", "path-iterator"]) == 2
    assert "SERIES@REV" in capsys.readouterr().err


def test_manifests_live_where_the_docs_say():
    for name in REAL:
        assert (REPO_ROOT / "patches" / "series" / name / "series.yaml").is_file()
    assert textwrap.dedent(GOOD).startswith("name: demo")
