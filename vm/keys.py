"""Per-run SSH material: a fresh ed25519 client key, and the guest host key pin."""
from __future__ import annotations

import base64
import binascii
import io
import os
from dataclasses import dataclass
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.errors import InfraError


@dataclass
class ClientKey:
    pkey: paramiko.PKey
    private_path: Path
    public_path: Path
    public_line: str


def new_client_key(ssh_dir: Path) -> ClientKey:
    """Generate an ed25519 key into `ssh_dir` (id_ed25519, id_ed25519.pub).

    virtme-ng's guest sshd authorizes `$HOME/.ssh/id_*.pub` of the host user, so
    with HOME pointing at the per-run home this key is the one the guest accepts."""
    ssh_dir = Path(ssh_dir)
    ssh_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                            serialization.NoEncryption()).decode()
    pub = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                        serialization.PublicFormat.OpenSSH).decode()
    line = f"{pub} kharness-run\n"
    priv_path = ssh_dir / "id_ed25519"
    pub_path = ssh_dir / "id_ed25519.pub"
    try:
        fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        pub_path.write_text(line)
    except OSError as e:
        raise InfraError(f"cannot write SSH key under {ssh_dir}: {e.strerror}") from e
    pkey = paramiko.Ed25519Key.from_private_key(io.StringIO(pem))
    return ClientKey(pkey, priv_path, pub_path, line)


def load_public_key(path: Path) -> paramiko.PKey | None:
    """Parse an OpenSSH public key file ("type base64 [comment]"); None if absent."""
    try:
        text = Path(path).read_text().split()
    except OSError:
        return None
    if len(text) < 2:
        return None
    try:
        return paramiko.PKey.from_type_string(text[0], base64.b64decode(text[1]))
    except (paramiko.SSHException, ValueError, binascii.Error):
        return None
