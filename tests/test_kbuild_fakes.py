"""Shared fakes for the kbuild unit tests (no tests here): a tiny tree, a .config,
and a FakeRunner answering git, --version and make like the real tools."""
from pathlib import Path

from common.proc import FakeRunner

CONFIG = "CONFIG_64BIT=y\nCONFIG_PRINTK=y\n# CONFIG_MODULES is not set\n"
MAKE_OUT = """  CC      init/main.o
  CC      fs/namei.o
../fs/namei.c:2718:13: warning: variable 'len' set but not used [-Wunused-but-set-variable]
  CC      kernel/fork.o
Kernel: arch/x86/boot/bzImage is ready  (#1)
"""


def make_tree(root: Path, name="linux") -> Path:
    t = root / name
    t.mkdir(parents=True)
    (t / "Makefile").write_text("# fake\n")
    (t / "Kconfig").write_text("# fake\n")
    return t


def obj_of(argv) -> Path:
    return Path(next(a[2:] for a in argv if a.startswith("O=")))


def fake_kernel_make(argv):
    obj = obj_of(argv)
    (obj / "arch/x86/boot").mkdir(parents=True, exist_ok=True)
    (obj / "arch/x86/boot/bzImage").write_bytes(b"bzImage " + (obj / ".config").read_bytes())
    (obj / "vmlinux").write_bytes(b"ELF")
    (obj / "System.map").write_text("ffffffff81000000 T _text\n")
    (obj / "built.o").write_text("object\n")


def make_objects(argv, out: str) -> None:
    """Write the objects whose `  CC      x.o` lines the fake make prints, as make does."""
    obj = obj_of(argv)
    for line in out.splitlines():
        parts = line.split()
        if line.startswith("  ") and parts and parts[-1].endswith(".o"):
            (obj / parts[-1]).parent.mkdir(parents=True, exist_ok=True)
            (obj / parts[-1]).write_text(f"object {len(line)}\n")


def runner(head="a" * 40, gcc="gcc (Debian 12.2.0-14) 12.2.0", dirty="", make_rc=0,
           make_out=MAKE_OUT, make_effect=fake_kernel_make, missing=()) -> FakeRunner:
    fr = FakeRunner()
    for tool in missing:
        fr.on(lambda a, t=tool: a[:2] == [t, "--version"], returncode=127)
    fr.on(lambda a: a[:2] == ["gcc", "--version"], stdout=gcc + "\nCopyright\n")
    fr.on(lambda a: len(a) == 2 and a[1] == "--version",
          stdout="tool 1.0\n")
    fr.on("rev-parse HEAD", stdout=head + "\n")
    fr.on("status --porcelain", stdout=" M fs/namei.c\n" if dirty else "")
    fr.on("ls-files -z", stdout="").on("--name-only -z", stdout="")
    fr.on("diff HEAD", stdout=dirty)
    def effect(argv):
        if make_effect is not None:
            make_effect(argv)
            make_objects(argv, make_out)
    fr.on(lambda a: "make" in a, returncode=make_rc, stdout=make_out, effect=effect)
    return fr


def make_calls(fr: FakeRunner):
    return [c for c in fr.calls if "make" in c["argv"] and "--version" not in c["argv"]]
