"""The SSH layer against fakes: host-key pinning, retries with backoff, exec and
streaming with timeouts."""
import paramiko
import pytest

from common.errors import BootError, InfraError
from vm.ssh import HostKeyMismatch, NoPinnedKey, PinnedHostKeyPolicy, SSHSession


def ed25519():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    import io
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption()).decode()
    return paramiko.Ed25519Key.from_private_key(io.StringIO(pem))


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.sleeps.append(s)
        self.now += s


class FakeChannel:
    def __init__(self, clock, chunks=(), status=0, hang=False):
        self.clock = clock
        self.chunks = list(chunks)      # ("out"|"err", bytes)
        self.status = status
        self.hang = hang
        self.closed = False
        self.command = None

    def settimeout(self, t):
        pass

    def exec_command(self, cmd):
        self.command = cmd

    def _ready(self, kind):
        return bool(self.chunks) and self.chunks[0][0] == kind

    def recv_ready(self):
        return self._ready("out")

    def recv_stderr_ready(self):
        return self._ready("err")

    def recv(self, n):
        return self.chunks.pop(0)[1]

    def recv_stderr(self, n):
        return self.chunks.pop(0)[1]

    def exit_status_ready(self):
        return not self.hang and not self.chunks

    def recv_exit_status(self):
        return self.status

    def close(self):
        self.closed = True


class FakeTransport:
    def __init__(self, channels):
        self.channels = channels
        self.active = True

    def is_active(self):
        return self.active

    def open_session(self, timeout=None):
        return self.channels.pop(0)


class FakeClient:
    """connect() fails with the queued errors first, then presents `host_key`."""

    def __init__(self, errors, host_key, channels, clock):
        self.errors = errors
        self.host_key = host_key
        self.transport = FakeTransport(channels)
        self.policy = None
        self.keys = paramiko.HostKeys()
        self.clock = clock
        self.connects = []
        self.closed = False

    def set_missing_host_key_policy(self, policy):
        self.policy = policy

    def get_host_keys(self):
        return self.keys

    def connect(self, host, **kw):
        self.connects.append(kw)
        assert kw["allow_agent"] is False and kw["look_for_keys"] is False
        self.clock.now += 1
        if self.errors:
            raise self.errors.pop(0)
        self.policy.missing_host_key(self, f"[{host}]:{kw['port']}", self.host_key)

    def get_transport(self):
        return self.transport

    def close(self):
        self.closed = True


def make_session(errors=(), host_key=None, channels=(), expected=None):
    clock = Clock()
    key = host_key or ed25519()
    made = []
    errs = list(errors)
    chans = list(channels)

    def factory():
        c = FakeClient(errs, key, chans, clock)
        made.append(c)
        return c
    pinned = key if expected is None else expected     # the fresh VM's own key by default
    s = SSHSession("127.0.0.1", 2222, "root", ed25519(), PinnedHostKeyPolicy(pinned),
                   client_factory=factory, clock=clock, sleep=clock.sleep)
    return s, clock, made


def test_policy_accepts_only_the_pinned_key():
    k1, k2 = ed25519(), ed25519()
    policy = PinnedHostKeyPolicy(k1)
    client = FakeClient([], k1, [], Clock())
    policy.missing_host_key(client, "[127.0.0.1]:2222", k1)
    assert client.get_host_keys().lookup("[127.0.0.1]:2222")["ssh-ed25519"] == k1
    with pytest.raises(HostKeyMismatch):
        policy.missing_host_key(FakeClient([], k2, [], Clock()), "[127.0.0.1]:2222", k2)


def test_policy_trusts_nothing_before_a_key_is_pinned():
    k = ed25519()
    policy = PinnedHostKeyPolicy()
    client = FakeClient([], k, [], Clock())
    with pytest.raises(NoPinnedKey):
        policy.missing_host_key(client, "h", k)
    assert policy.pinned is None and client.get_host_keys().lookup("h") is None


def test_connect_retries_until_the_vm_key_is_pinned():
    s, clock, made = make_session()
    key = s.policy.pinned
    s.policy.pinned = None

    def alive():                          # the key file appears after two attempts
        if len(made) == 2:
            s.policy.pinned = key
        return True
    s.connect(deadline=100.0, alive=alive)
    assert s.attempts == 3 and "NoPinnedKey" in s.last_error


def test_connect_retries_with_growing_backoff_then_succeeds():
    errs = [ConnectionRefusedError("refused"), paramiko.SSHException("banner"),
            EOFError(), ConnectionResetError("reset")]
    s, clock, made = make_session(errors=errs)
    s.connect(deadline=100.0)
    assert s.attempts == 5 and len(made) == 5
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]
    assert all(c.closed for c in made[:4]) and not made[4].closed
    assert s.policy.pinned is not None


def test_connect_gives_up_at_the_deadline_with_boot_error():
    s, clock, made = make_session(errors=[ConnectionRefusedError("refused")] * 100)
    with pytest.raises(BootError, match="no SSH.*ConnectionRefusedError"):
        s.connect(deadline=30.0, max_delay=4.0)
    assert clock.now <= 32.0
    assert 4 < s.attempts < 30


def test_connect_stops_when_vm_dies():
    s, clock, made = make_session(errors=[ConnectionRefusedError("refused")] * 100)
    state = {"n": 0}

    def alive():
        state["n"] += 1
        return state["n"] < 3
    with pytest.raises(BootError, match="VM stopped"):
        s.connect(deadline=1000.0, alive=alive)
    assert s.attempts == 2


def test_connect_does_not_retry_a_host_key_mismatch():
    s, clock, made = make_session(host_key=ed25519(), expected=ed25519())
    with pytest.raises(InfraError, match="host key"):
        s.connect(deadline=100.0)
    assert s.attempts == 1


def connected(channels):
    s, clock, made = make_session(channels=channels)
    s.connect(deadline=100.0)
    return s, clock


def test_exec_collects_stdout_stderr_and_status():
    clock = Clock()
    ch = FakeChannel(clock, [("out", b"hel"), ("err", b"warn\n"), ("out", b"lo\n")], status=3)
    s, clock = connected([ch])
    res = s.exec("echo hello", timeout=10)
    assert (res.rc, res.stdout, res.stderr, res.timed_out) == (3, "hello\n", "warn\n", False)
    assert ch.command == "echo hello" and ch.closed


def test_exec_times_out_on_the_host_side():
    ch = FakeChannel(Clock(), [("out", b"partial\n")], hang=True)
    s, clock = connected([ch])
    res = s.exec("sleep 1000", timeout=5)
    assert res.timed_out and res.rc is None and res.stdout == "partial\n"
    assert 5 <= res.duration < 6 and ch.closed


def test_stream_appends_chunks_to_the_file_as_they_arrive(tmp_path):
    out = tmp_path / "raw" / "log.txt"
    seen = []

    class Watching(FakeChannel):
        def recv(self, n):
            if out.exists():
                seen.append(out.read_bytes())
            return super().recv(n)
    ch = Watching(Clock(), [("out", b"one\n"), ("err", b"two\n"), ("out", b"three\n")])
    s, clock = connected([ch])
    res = s.stream("x", out, timeout=10)
    assert res.rc == 0 and out.read_text() == "one\ntwo\nthree\n"
    assert seen[-1] == b"one\ntwo\n"   # earlier chunks were on disk before the last read


def test_exec_without_connection_is_infra_error():
    s, clock, made = make_session()
    with pytest.raises(InfraError, match="not connected"):
        s.exec("true", 1)


def test_exec_on_dead_transport_is_infra_error():
    s, clock = connected([])
    s._client.transport.active = False
    assert not s.connected
    with pytest.raises(InfraError, match="gone"):
        s.exec("true", 1)
