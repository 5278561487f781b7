"""Private keys kept as PEM files readable by their owner only (the platform's own keys)."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes


def private_key_write(path: Path, key: PrivateKeyTypes) -> None:
    """Write a new key file (mode 0600); an existing file is never overwritten."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def private_key_read(path: Path) -> PrivateKeyTypes:
    """The key in a PEM file; FileNotFoundError when there is none."""
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


@contextmanager
def key_dir_locked(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (its ``.lock`` file) against other processes.

    For what is made once in a key directory, such as a key that several web workers may
    all find missing at the same moment: each waits for the first, then finds its key.
    """
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
