"""make_config end to end with a FakeRunner standing in for make."""
import json
import shutil
from pathlib import Path

import pytest

from common.errors import ConfigError, InputError
from common.proc import FakeRunner
from configs import ConfigRequest, make_config
from configs.kconfig import KconfigTree
from configs.merge import read_dotconfig

FIX = Path(__file__).parent / "data" / "kconfig"
BASE = "CONFIG_X86=y\nCONFIG_HAVE_ARCH_KASAN=y\n# CONFIG_NET is not set\nCONFIG_SLUB_TINY=y\n"


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "linux"
    shutil.copytree(FIX, t)
    (t / "Makefile").write_text("# fixture\n")
    return t


def fake_make(build_dir: Path, drop_kasan_if_tiny=True):
    """tinyconfig writes BASE; olddefconfig drops symbols no Kconfig defines, and
    KASAN when SLUB_TINY=y, as Kconfig would."""
    known = KconfigTree(FIX, "x86_64")

    def base(argv):
        (build_dir / ".config").write_text(BASE)

    def olddef(argv):
        cfg = build_dir / ".config"
        vals = read_dotconfig(cfg.read_text())
        lines = [ln for ln in cfg.read_text().splitlines()
                 if not ln.startswith("CONFIG_") or known.defined(ln[7:].split("=")[0])]
        if drop_kasan_if_tiny and vals.get("SLUB_TINY") == "y":
            lines = [ln for ln in lines if not ln.startswith("CONFIG_KASAN=")]
        cfg.write_text("\n".join(lines) + "\n")
    return FakeRunner().on("tinyconfig", effect=base).on("olddefconfig", effect=olddef)


def frag(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def req(tree, tmp_path, *frags, **kw):
    return ConfigRequest(tree=tree, build_dir=tmp_path / "out", results_dir=tmp_path / "res",
                         base="tinyconfig", fragments=list(frags), nice=False, **kw)


def test_merges_in_order_runs_make_and_writes_results(tree, tmp_path):
    a = frag(tmp_path, "a.config", "CONFIG_NET=y\nCONFIG_DEBUG_KERNEL=y\n")
    b = frag(tmp_path, "b.config", "# CONFIG_SLUB_TINY is not set\nCONFIG_KASAN=y\n")
    r = req(tree, tmp_path, a, b, llvm="-19")
    fr = fake_make(tmp_path / "out")
    res = make_config(r, fr)
    argvs = [c["argv"] for c in fr.calls]
    assert argvs[0][-1] == "tinyconfig" and argvs[1][-1] == "olddefconfig"
    assert "LLVM=-19" in argvs[1] and "ARCH=x86_64" in argvs[1]
    assert f"O={tmp_path / 'out'}" in argvs[0]
    final = read_dotconfig((tmp_path / "out" / ".config").read_text())
    assert final["KASAN"] == "y" and final["SLUB_TINY"] == "n" and final["NET"] == "y"
    assert res.failed == [] and res.fragments == [a, b]
    assert (tmp_path / "res" / "config").read_text() == (tmp_path / "out" / ".config").read_text()
    data = json.loads((tmp_path / "res" / "config-report.json").read_text())
    assert data["failed"] == [] and data["base"] == "tinyconfig"


def test_dropped_symbol_fails_with_report_naming_unmet_dependency(tree, tmp_path):
    f = frag(tmp_path, "k.config", "CONFIG_DEBUG_KERNEL=y\nCONFIG_KASAN=y\n")
    with pytest.raises(ConfigError) as e:
        make_config(req(tree, tmp_path, f), fake_make(tmp_path / "out"))
    assert e.value.exit_code == 4 and "CONFIG_KASAN" in str(e.value)
    text = (tmp_path / "res" / "config-report.txt").read_text()
    assert f"FAIL CONFIG_KASAN: requested y ({f}:2), final n [dropped]" in text
    assert "<<!SLUB_TINY [=y]>>" in text
    data = json.loads((tmp_path / "res" / "config-report.json").read_text())
    assert data["failed"] == ["KASAN"]


def test_allow_drop_lets_it_pass(tree, tmp_path):
    f = frag(tmp_path, "k.config", "CONFIG_DEBUG_KERNEL=y\nCONFIG_KASAN=y\n")
    res = make_config(req(tree, tmp_path, f, allow_drop=["KASAN"]), fake_make(tmp_path / "out"))
    assert res.failed == [] and [c.symbol for c in res.checks if c.allowed] == ["KASAN"]


def test_conflict_between_fragments_is_reported(tree, tmp_path):
    a = frag(tmp_path, "a.config", "CONFIG_NET=y\n")
    b = frag(tmp_path, "b.config", "# CONFIG_NET is not set\n")
    res = make_config(req(tree, tmp_path, a, b), fake_make(tmp_path / "out"))
    assert [c.symbol for c in res.conflicts] == ["NET"]
    text = res.report_txt.read_text()
    assert f"conflict: CONFIG_NET: y ({a}:1) overridden by n ({b}:1)" in text


def test_typo_fails_with_suggestion(tree, tmp_path):
    f = frag(tmp_path, "t.config", "CONFIG_BPF_SYSCAL=y\n")
    with pytest.raises(ConfigError):
        make_config(req(tree, tmp_path, f), fake_make(tmp_path / "out"))
    assert "did you mean: CONFIG_BPF_SYSCALL" in (tmp_path / "res" / "config-report.txt").read_text()


def test_bad_fragment_fails_before_anything_runs_or_is_written(tree, tmp_path):
    f = frag(tmp_path, "bad.config", "CONFIG_A=y\nCONFIG_B=maybe\n")
    fr = fake_make(tmp_path / "out")
    with pytest.raises(InputError) as e:
        make_config(req(tree, tmp_path, f), fr)
    assert e.value.path == f and e.value.line == 2
    assert fr.calls == [] and not (tmp_path / "out").exists() and not (tmp_path / "res").exists()


def test_unclean_source_tree_is_refused(tree, tmp_path):
    (tree / ".config").write_text("CONFIG_X=y\n")
    with pytest.raises(ConfigError) as e:
        make_config(req(tree, tmp_path), fake_make(tmp_path / "out"))
    assert "mrproper" in str(e.value)


def test_failing_make_is_a_config_error(tree, tmp_path):
    fr = FakeRunner().on("tinyconfig", returncode=2, stderr="*** No rule to make target")
    with pytest.raises(ConfigError):
        make_config(req(tree, tmp_path), fr)


def test_profile_small_and_unknown_fragment(tree, tmp_path):
    r = ConfigRequest(tree=tree, build_dir=tmp_path / "out", results_dir=tmp_path / "res",
                      profile="small", fragments=["no-such-fragment"], nice=False)
    with pytest.raises(InputError) as e:
        make_config(r, fake_make(tmp_path / "out"))
    assert "unknown fragment 'no-such-fragment'" in str(e.value) and "vm-min" in str(e.value)


def test_bad_profile_yaml_names_file_and_line(tmp_path, monkeypatch):
    import configs.profiles as profiles
    monkeypatch.setattr(profiles, "PROFILES_DIR", tmp_path)
    (tmp_path / "p.yaml").write_text("base: tinyconfig\nfragments:\n  - vm-min\nfragmnts: []\n")
    with pytest.raises(InputError) as e:
        profiles.load_profile("p")
    assert e.value.line == 4 and "fragmnts" in str(e.value)
    (tmp_path / "q.yaml").write_text("base: allyesconfig\n")
    with pytest.raises(InputError) as e:
        profiles.load_profile("q")
    assert e.value.line == 1


def test_bpf_fragment_is_read_from_the_tree(tree, tmp_path):
    from configs.profiles import resolve_fragment
    d = tree / "tools/testing/selftests/bpf"
    d.mkdir(parents=True)
    (d / "config").write_text("CONFIG_BPF_SYSCALL=y\n")
    (d / "config.x86_64").write_text("CONFIG_X86_ONLY_FEATURE=y\n")
    frags = resolve_fragment("bpf", tree, {"arch": "x86_64"})
    assert [f.name for f in frags] == ["bpf:config", "bpf:config.x86_64"]
    assert frags[0].settings[0].path == str(d / "config")


def test_shipped_profiles_load():
    from configs.profiles import list_profiles, load_profile
    names = list_profiles()
    assert {"small", "bpf"} <= set(names)
    small = load_profile("small")
    assert small.base == "tinyconfig" and small.fragments == ["vm-min"]
    assert load_profile("bpf").fragments[-1] == "bpf"
    lean = load_profile("bpf-min")           # the selftests' config without config.x86_64
    assert lean.base == "tinyconfig" and "bpf" not in lean.fragments
    assert "tree:tools/testing/selftests/bpf/config" in lean.fragments
