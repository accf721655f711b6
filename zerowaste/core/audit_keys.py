"""The secrets of the audit log, kept outside the database (ADR 0003, ADR 0044).

- HMAC keys chain the entries. A key ring of `<key id> <hex secret>` lines in
  `AUDIT_KEY_DIR/hmac.keys` (or `ZEROWASTE_AUDIT_HMAC_KEYS=id:hex,...`); the last key signs new
  entries, older ones stay to verify the entries they made. Created on first use.
- An Ed25519 private key signs checkpoints of the chain heads: `AUDIT_KEY_DIR/signing-key.pem` (or
  `ZEROWASTE_AUDIT_SIGNING_KEY_FILE`), created on first use. Every public key that ever signed is kept
  in `AUDIT_KEY_DIR/signing-public.keys`; a checkpoint verifies only under one of those keys.

Someone who can write the database but not these files can neither make a valid entry hash nor a
checkpoint. Keys are cached by file modification time, so a rotation by another process is seen.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

HMAC_KEYS_FILE = "hmac.keys"
SIGNING_KEY_FILE = "signing-key.pem"
PUBLIC_KEYS_FILE = "signing-public.keys"


class AuditKeyError(Exception):
    """A key ring that cannot be read or does not hold the key asked for."""


@dataclass(frozen=True)
class HmacKeyRing:
    keys: dict[str, bytes]
    current_id: str

    @property
    def current(self) -> tuple[str, bytes]:
        return self.current_id, self.keys[self.current_id]


_cache: dict[str, tuple[object, object]] = {}


@receiver(setting_changed)
def _forget_keys(**_kwargs: object) -> None:
    _cache.clear()


def key_dir() -> Path:
    return Path(settings.AUDIT_KEY_DIR)


def _create_exclusive(path: Path, content: bytes) -> None:
    """Publish a new secret file, readable by its owner only, complete or not at all: written aside,
    then hard-linked into place, so a concurrent process either wins or reads the winner's file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except FileNotFoundError:
        return -1


def _parse_ring(lines: list[tuple[str, str]], where: str) -> HmacKeyRing:
    keys: dict[str, bytes] = {}
    for key_id, secret in lines:
        if not key_id or len(key_id) > 16 or not key_id.isalnum():
            raise AuditKeyError(f"{where}: key id {key_id!r} must be 1-16 letters or digits")
        try:
            keys[key_id] = bytes.fromhex(secret)
        except ValueError as exc:
            raise AuditKeyError(f"{where}: the secret of key {key_id} is not hex") from exc
        if len(keys[key_id]) < 32:
            raise AuditKeyError(f"{where}: the secret of key {key_id} is shorter than 32 bytes")
    if not keys:
        raise AuditKeyError(f"{where}: no key")
    return HmacKeyRing(keys, lines[-1][0])


def hmac_keys() -> HmacKeyRing:
    """The HMAC key ring: from settings (`AUDIT_HMAC_KEYS`), else the key file (created once)."""
    configured: dict[str, str] | None = getattr(settings, "AUDIT_HMAC_KEYS", None)
    if configured:
        cached = _cache.get("hmac-settings")
        if cached is None:
            ring = _parse_ring(list(configured.items()), "AUDIT_HMAC_KEYS")
            _cache["hmac-settings"] = cached = (None, ring)
        assert isinstance(cached[1], HmacKeyRing)
        return cached[1]
    path = key_dir() / HMAC_KEYS_FILE
    stamp = _mtime(path)
    cached = _cache.get("hmac-file")
    if cached is not None and cached[0] == (str(path), stamp):
        assert isinstance(cached[1], HmacKeyRing)
        return cached[1]
    if stamp == -1:
        _create_exclusive(
            path,
            (
                "# zerowaste audit HMAC keys: <key id> <hex secret>. The last line keys new entries;\n"
                "# keep every older line (it verifies the entries it keyed). Never commit this file.\n"
                f"k1 {secrets.token_hex(32)}\n"
            ).encode(),
        )
        stamp = _mtime(path)
    pairs: list[tuple[str, str]] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2:
            raise AuditKeyError(f"{path}, line {number}: expected `<key id> <hex secret>`")
        pairs.append((parts[0], parts[1]))
    ring = _parse_ring(pairs, str(path))
    _cache["hmac-file"] = ((str(path), stamp), ring)
    return ring


def rotate_hmac_key() -> str:
    """Append a new HMAC key to the key file; it keys every entry from now on. Returns its id."""
    if getattr(settings, "AUDIT_HMAC_KEYS", None):
        raise AuditKeyError(
            "the HMAC keys come from ZEROWASTE_AUDIT_HMAC_KEYS: append `,<new id>:<hex secret>` there"
        )
    ring = hmac_keys()
    numbers = [int(k[1:]) for k in ring.keys if k.startswith("k") and k[1:].isdigit()]
    new_id = f"k{max(numbers, default=0) + 1}"
    path = key_dir() / HMAC_KEYS_FILE
    with path.open("a") as handle:
        handle.write(f"{new_id} {secrets.token_hex(32)}\n")
    _cache.pop("hmac-file", None)
    return new_id


# --- Checkpoint signing ----------------------------------------------------------------------------


def public_key_b64(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def fingerprint(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _signing_key_path() -> Path:
    return Path(getattr(settings, "AUDIT_SIGNING_KEY_FILE", None) or key_dir() / SIGNING_KEY_FILE)


def _remember_public_key(key: Ed25519PublicKey) -> None:
    path = key_dir() / PUBLIC_KEYS_FILE
    line = f"{fingerprint(key)} {public_key_b64(key)}"
    known = path.read_text().splitlines() if path.exists() else []
    if line not in known:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as handle:
            handle.write(line + "\n")
        _cache.pop("trusted", None)


def signing_key() -> Ed25519PrivateKey:
    """The key that signs checkpoints: from `AUDIT_SIGNING_KEY_SEED` (tests), else the PEM file."""
    seed: str | None = getattr(settings, "AUDIT_SIGNING_KEY_SEED", None)
    if seed:
        return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(seed))
    path = _signing_key_path()
    stamp = _mtime(path)
    cached = _cache.get("signing")
    if cached is not None and cached[0] == (str(path), stamp):
        assert isinstance(cached[1], Ed25519PrivateKey)
        return cached[1]
    if stamp == -1:
        fresh = Ed25519PrivateKey.generate()
        _create_exclusive(
            path,
            fresh.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        stamp = _mtime(path)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, Ed25519PrivateKey):
        raise AuditKeyError(f"{path}: not an Ed25519 private key")
    _remember_public_key(loaded.public_key())
    _cache["signing"] = ((str(path), stamp), loaded)
    return loaded


def rotate_signing_key() -> str:
    """Replace the checkpoint signing key; its public key joins the trusted ones. Returns the fingerprint."""
    if getattr(settings, "AUDIT_SIGNING_KEY_SEED", None):
        raise AuditKeyError("the signing key comes from AUDIT_SIGNING_KEY_SEED")
    signing_key()  # the old public key is remembered before the file is replaced
    path = _signing_key_path()
    fresh = Ed25519PrivateKey.generate()
    tmp = path.with_name(f".{path.name}.rotating")
    tmp.unlink(missing_ok=True)
    _create_exclusive(
        tmp,
        fresh.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    os.replace(tmp, path)
    _cache.pop("signing", None)
    return fingerprint(signing_key().public_key())


def trusted_public_keys() -> dict[str, Ed25519PublicKey]:
    """Every public key that may have signed a checkpoint, by fingerprint: the current one, those in
    the public key file and `AUDIT_TRUSTED_SIGNING_KEYS` (base64 raw keys)."""
    current = signing_key().public_key()
    keys = {fingerprint(current): current}
    path = key_dir() / PUBLIC_KEYS_FILE
    encoded = (
        [line.split()[-1] for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
    )
    encoded += list(getattr(settings, "AUDIT_TRUSTED_SIGNING_KEYS", None) or [])
    for b64 in encoded:
        try:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(b64))
        except ValueError as exc:
            raise AuditKeyError(f"{path}: {b64!r} is not an Ed25519 public key") from exc
        keys[fingerprint(key)] = key
    return keys


def sign(payload: str) -> tuple[str, str]:
    """(signature in base64, fingerprint of the signing key) over the UTF-8 bytes of `payload`."""
    key = signing_key()
    return base64.b64encode(key.sign(payload.encode("utf-8"))).decode(), fingerprint(key.public_key())


def signature_valid(
    payload: str,
    signature_b64: str,
    key_fingerprint: str,
    trusted: dict[str, Ed25519PublicKey] | None = None,
) -> bool | None:
    """True or False; None when the key is not a trusted one."""
    key = (trusted if trusted is not None else trusted_public_keys()).get(key_fingerprint)
    if key is None:
        return None
    try:
        key.verify(base64.b64decode(signature_b64), payload.encode("utf-8"))
    except (InvalidSignature, ValueError):
        return False
    return True
