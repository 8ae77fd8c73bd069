"""The seams' fakes are checked against the Protocols the real classes implement,
so a fake cannot drift from what the stages call."""
import importlib.util
import inspect
from pathlib import Path

from common.proc import FakeRunner, ProcessRunner, Runner
from vm.api import GuestVM
from vm.boot import VM


def _members(proto) -> set[str]:
    names = {n for n in vars(proto) if not n.startswith("_")}
    return names | set(getattr(proto, "__annotations__", {}))


def _test_module(name: str):
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"kh_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_runners_are_process_runners():
    assert isinstance(Runner(), ProcessRunner)
    assert isinstance(FakeRunner(), ProcessRunner)
    real = inspect.signature(Runner.run).parameters
    fake = inspect.signature(FakeRunner.run).parameters
    assert list(real) == list(fake)


def test_the_real_vm_is_a_guest_vm():
    vm = VM(*([None] * 7))
    assert isinstance(vm, GuestVM)
    assert _members(GuestVM) <= set(dir(vm))


def test_the_test_fake_vm_is_a_guest_vm(tmp_path):
    fake = _test_module("test_selftests_run").FakeVM(lambda *a: ("", 0, False), tmp_path)
    assert isinstance(fake, GuestVM)
    for name in ("exec", "stream"):
        want = list(inspect.signature(getattr(GuestVM, name)).parameters)[1:]
        got = list(inspect.signature(getattr(fake, name)).parameters)
        assert len(got) == len(want), name
