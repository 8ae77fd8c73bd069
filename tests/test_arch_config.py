"""A robot's .config used whole (profile `whole`): no base target, olddefconfig on
it, and a check that leaves out the symbols the compiler decides and names the
ones this tree lacks."""
import json
from pathlib import Path

import pytest

from common.errors import ConfigError, InputError
from common.proc import FakeRunner
from configs import ConfigRequest, make_config
from configs.kconfig import KconfigTree
from configs.merge import read_dotconfig
from configs.profiles import check_fragment, load_profile
from configs.verify import ABSENT, TOOLCHAIN

KCONFIG = '''\
config CC_VERSION_TEXT
	string
	default "$(CC_VERSION_TEXT)"

config CC_IS_GCC
	def_bool $(success,test "$(cc-name)" = GCC)

config GCC_VERSION
	int
	default $(cc-version) if CC_IS_GCC
	default 0

config CC_HAS_AUTO_VAR_INIT_ZERO
	def_bool $(cc-option,-ftrivial-auto-var-init=zero)

config INIT_STACK_ALL_ZERO
	bool "zero-init everything on the stack"
	depends on CC_HAS_AUTO_VAR_INIT_ZERO

config INIT_STACK_ZERO_LEVEL
	int "level"
	depends on INIT_STACK_ALL_ZERO
	default 1

config NET
	bool "networking"
	depends on !BROKEN_HERE

config BROKEN_HERE
	bool "broken"

config ARCH_NAME
	string
	default "$(SRCARCH)"

source "arch/$(SRCARCH)/Kconfig"
'''

ROBOT = '''\
#
# Automatically generated file; DO NOT EDIT.
# Linux/m68k 6.12.0 Kernel Configuration
#
CONFIG_CC_VERSION_TEXT="m68k-linux-gcc (GCC) 13.2.0"
CONFIG_CC_IS_GCC=y
CONFIG_GCC_VERSION=130200
CONFIG_CC_HAS_AUTO_VAR_INIT_ZERO=y
CONFIG_INIT_STACK_ALL_ZERO=y
CONFIG_INIT_STACK_ZERO_LEVEL=2
CONFIG_NET=y
CONFIG_ONLY_IN_NEXT=y
# CONFIG_BROKEN_HERE is not set
# CONFIG_ALSO_GONE is not set
CONFIG_ARCH_NAME="m68k"
CONFIG_M68K=y
'''


@pytest.fixture
def tree(tmp_path):
    t = tmp_path / "linux"
    (t / "arch" / "m68k").mkdir(parents=True)
    (t / "Kconfig").write_text(KCONFIG)
    (t / "arch" / "m68k" / "Kconfig").write_text("config M68K\n\tdef_bool y\n")
    (t / "Makefile").write_text("# fixture\n")
    return t


def fake_olddefconfig(build_dir: Path, tree: Path, also_drop=()):
    """The local gcc 12 has no -ftrivial-auto-var-init=zero: olddefconfig sets the
    compiler's values, drops what depends on the missing option, and drops the
    symbols this tree has no Kconfig for."""
    known = KconfigTree(tree, "m68k")
    local = {"CC_VERSION_TEXT": '"m68k-linux-gnu-gcc-12 (Debian 12.2.0-13) 12.2.0"',
             "GCC_VERSION": "120200", "CC_HAS_AUTO_VAR_INIT_ZERO": None,
             "INIT_STACK_ALL_ZERO": None, "INIT_STACK_ZERO_LEVEL": None}

    def olddef(argv):
        cfg = build_dir / ".config"
        out = []
        for sym, val in read_dotconfig(cfg.read_text()).items():
            if not known.defined(sym) or sym in also_drop:
                continue
            val = local.get(sym, val)
            if val is not None and val != "n":
                out.append(f"CONFIG_{sym}={val}")
        cfg.write_text("\n".join(out) + "\n")
    return FakeRunner().on("olddefconfig", effect=olddef)


def request(tree, tmp_path, **kw):
    robot = tmp_path / "config"          # named as beside a robot's email: no suffix
    robot.write_text(ROBOT)
    return ConfigRequest(tree=tree, build_dir=tmp_path / "out", results_dir=tmp_path / "res",
                         profile="whole", fragments=[str(robot)], arch="m68k",
                         cross=["CROSS_COMPILE=m68k-linux-gnu-", "CC=m68k-linux-gnu-gcc-12"],
                         nice=False, **kw)


def test_whole_config_passes_when_only_the_compiler_differs(tree, tmp_path):
    r = request(tree, tmp_path)
    runner = fake_olddefconfig(tmp_path / "out", tree)
    res = make_config(r, runner)
    argvs = [c["argv"] for c in runner.calls]
    assert len(argvs) == 1 and argvs[0][-1] == "olddefconfig"      # no base target
    assert "CC=m68k-linux-gnu-gcc-12" in argvs[0] and "ARCH=m68k" in argvs[0]
    assert res.failed == [] and res.base == "whole"
    by = {c.symbol: c for c in res.checks}
    left_out = sorted(s for s, c in by.items() if c.status == TOOLCHAIN)
    assert left_out == ["CC_HAS_AUTO_VAR_INIT_ZERO", "CC_VERSION_TEXT", "GCC_VERSION",
                        "INIT_STACK_ALL_ZERO", "INIT_STACK_ZERO_LEVEL"]
    assert "follows CONFIG_CC_HAS_AUTO_VAR_INIT_ZERO" in by["INIT_STACK_ALL_ZERO"].explain[-1]
    assert "follows CONFIG_INIT_STACK_ALL_ZERO" in by["INIT_STACK_ZERO_LEVEL"].explain[-1]
    assert by["ONLY_IN_NEXT"].status == ABSENT
    assert by["ARCH_NAME"].status == "ok" and by["NET"].status == "ok"
    text = res.report_txt.read_text()
    assert ("left out, the compiler decides them (5): CONFIG_CC_VERSION_TEXT, "
            "CONFIG_GCC_VERSION, CONFIG_CC_HAS_AUTO_VAR_INIT_ZERO") in text
    assert "not in this tree (no Kconfig defines them) (1): CONFIG_ONLY_IN_NEXT" in text
    data = json.loads(res.report_json.read_text())
    assert data["base"] == "whole" and data["failed"] == []


def test_whole_config_still_fails_on_a_real_drop(tree, tmp_path):
    runner = fake_olddefconfig(tmp_path / "out", tree, also_drop=("NET",))
    with pytest.raises(ConfigError, match="1 requested config symbols not as asked: CONFIG_NET"):
        make_config(request(tree, tmp_path), runner)
    runner = fake_olddefconfig(tmp_path / "out", tree, also_drop=("NET",))
    res = make_config(request(tree, tmp_path, allow_drop=["NET"]), runner)
    assert [c.symbol for c in res.checks if c.allowed] == ["NET"]


def test_whole_profile_needs_the_config(tree, tmp_path):
    r = request(tree, tmp_path)
    r.fragments = []
    with pytest.raises(InputError, match="profile 'whole' takes the whole .config"):
        make_config(r, FakeRunner())


def test_profiles_and_fragment_paths():
    assert load_profile("whole").base == "whole" and load_profile("whole").fragments == []
    assert load_profile("defconfig").base == "defconfig"
    with pytest.raises(InputError, match="does not exist"):
        check_fragment("/nonexistent/config")


def test_toolchain_macros_are_read_from_kconfig(tree):
    k = KconfigTree(tree, "m68k")
    assert k.toolchain_defined == {"CC_VERSION_TEXT", "CC_IS_GCC", "GCC_VERSION",
                                   "CC_HAS_AUTO_VAR_INIT_ZERO"}
