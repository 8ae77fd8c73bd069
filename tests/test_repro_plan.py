from pathlib import Path
from types import SimpleNamespace

import pytest

from common.errors import InputError
from repro.plan import choose_compiler, choose_config, cover_id, make_plan, patch_index, targets_for
from repro.report import load_report, parse_report
from repro.run import trailers

DATA = Path(__file__).parent / "data" / "reports"


def test_cover_id():
    assert cover_id("20250617061116.3681325-2-song@kernel.org") == \
        "20250617061116.3681325-1-song@kernel.org"


def test_config_is_never_invented(tmp_path):
    """Without the robot's config: the arch's defconfig, stated with the URL to fetch."""
    rep = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    cfg, prof, notes = choose_config(rep, None, None)
    assert (cfg, prof) == (None, "defconfig")
    assert "building the arch's defconfig instead" in notes[0]
    assert "fetch https://download.01.org/0day-ci/archive/20250618/" in notes[0]
    cfg, prof, notes = choose_config(rep, None, "small")
    assert (cfg, prof) == (None, "small") and "loongarch-randconfig-r072-20250618" in notes[0]
    f = tmp_path / "config"
    f.write_text("CONFIG_X=y\n")
    assert choose_config(rep, f, None) == (str(f), "whole", [])
    with pytest.raises(InputError, match="config file not found"):
        choose_config(rep, tmp_path / "nosuch", None)


def test_config_beside_the_email_is_used(tmp_path):
    eml = tmp_path / "r.eml"
    eml.write_bytes((DATA / "path-iter-v5-kerneldoc.eml").read_bytes())
    (tmp_path / "config").write_text("CONFIG_X=y\n")
    assert choose_config(load_report(eml), None, None)[0] == str(tmp_path / "config")


def test_compiler_substitutions():
    rep = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    tc, notes = choose_compiler(rep)            # loongarch: no Debian gcc, an LLVM target
    assert tc == "llvm-19" and notes == [
        "loongarch64-linux-gcc (GCC) 12.4.0: no gcc for loongarch in Debian; using clang-19 "
        "(LLVM=-19 ARCH=loongarch)"]
    tc, notes = choose_compiler(rep, "x86_64", arch_given=True)
    assert tc == "gcc"
    assert notes[0] == "building ARCH=x86_64 instead of the report's loongarch as asked (--arch)"
    assert notes[1].startswith("loongarch64-linux-gcc 12.4.0 is not installed; using the host "
                               "gcc for x86_64 as asked (--arch x86_64)")
    tc, notes = choose_compiler(parse_report((DATA / "clang-sparse.txt").read_bytes()))
    assert tc == "llvm-19" and "clang 13.0.0" in notes[0]
    tc, notes = choose_compiler(load_report(DATA / "fanotify-v2-gcc-w1.mbox"))
    assert (tc, notes) == ("gcc", [])


def test_targets_and_patch_index():
    rep = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    assert targets_for(rep) == ["fs/namei.o"] and patch_index(rep) == 1
    assert targets_for(load_report(DATA / "fanotify-v2-gcc-w1.mbox")) == ["fs/notify/fanotify/"]


def test_plan_maps_report_to_the_port(tmp_path):
    from patches.manifest import find_series
    from patches.source import revision_status
    s = find_series("path-iterator")
    if revision_status(s, s.revision("v5-6.12")).state != "present":
        pytest.skip("path-iterator v5-6.12 patches are not in patches/ yet")
    rep = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    plan = make_plan(rep, SimpleNamespace(series=None, config=None, profile="small", tree=None))
    assert (plan.series, plan.rev, plan.upto) == ("path-iterator", "v5-6.12", 1)
    assert plan.make_flags == ["W=1"] and plan.targets == ["fs/namei.o"]
    assert any("port v5-6.12" in n for n in plan.substitutions)


def test_unknown_patch_needs_series():
    rep = parse_report((DATA / "link-error.txt").read_bytes().replace(
        b"20250528222623.1373000-4-song", b"19990101000000.1-4-nobody").replace(
        b"bpf: Introduce path iterator", b"nothing: like this"))
    with pytest.raises(InputError, match="--series"):
        make_plan(rep, SimpleNamespace(series=None, config=None, profile="small", tree=None))


def test_trailers():
    rep = load_report(DATA / "path-iter-v5-kerneldoc.eml")
    assert trailers(rep) == ("Reported-by: kernel test robot <lkp@intel.com>\n"
                             "Closes: https://lore.kernel.org/oe-kbuild-all/"
                             "202506180814.GoByWn1r-lkp@intel.com/\n")


def test_cover_letters_are_not_patches():
    from patches.manifest import find_series
    from patches.source import is_cover_letter, load_patches
    s = find_series("path-iterator")
    items = load_patches(s, s.revision("v5.1-6.12"))
    assert len(items) == 9 and not any(is_cover_letter(i.path) for i in items)
    assert items[0].subject.startswith("namei: Introduce new helper function")
