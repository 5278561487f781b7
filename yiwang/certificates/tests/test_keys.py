"""The trust anchor, department signing keys and the signed trust list."""

from __future__ import annotations

import datetime
import os
import stat
import threading
import time

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.test import Client
from django.utils import timezone

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import SigningKey
from yiwang.identity.tests.factories import DepartmentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def key_dir(settings, tmp_path):
    settings.CERTIFICATES_KEY_DIR = tmp_path / "certificates"
    return settings.CERTIFICATES_KEY_DIR


@pytest.fixture
def civil_affairs():
    return DepartmentFactory(code="330106-MZ", name="杭州市西湖区民政局")


def test_the_anchor_is_created_once_as_a_ca_and_its_key_is_private(key_dir):
    first = keys.trust_anchor()
    again = keys.trust_anchor()

    assert first.certificate == again.certificate
    constraints = first.certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca is True
    mode = stat.S_IMODE(os.stat(key_dir / keys.ANCHOR_KEY_FILE).st_mode)
    assert mode == 0o600


def test_half_an_anchor_is_an_error_not_a_new_anchor(key_dir):
    keys.trust_anchor()
    (key_dir / keys.ANCHOR_CERTIFICATE_FILE).unlink()

    with pytest.raises(keys.KeyUnavailable):
        keys.trust_anchor()


def test_workers_that_first_need_the_anchor_at_once_share_one(key_dir, monkeypatch):
    # Two web workers find no anchor at the same moment. The first is slow to write it;
    # the second must wait for it, not make its own (its key file would collide).
    second_started = threading.Event()
    write = keys.private_key_write

    def slow_first_write(path, key):
        if threading.current_thread().name == "first":
            second_started.wait(5)
            time.sleep(0.3)
        write(path, key)

    monkeypatch.setattr(keys, "private_key_write", slow_first_write)
    anchors: dict[str, object] = {}

    def worker():
        if threading.current_thread().name == "second":
            second_started.set()
        try:
            anchors[threading.current_thread().name] = keys.trust_anchor().certificate
        except Exception as exc:  # reported by the assertions below
            anchors[threading.current_thread().name] = exc

    first = threading.Thread(target=worker, name="first")
    first.start()
    second = threading.Thread(target=worker, name="second")
    second.start()
    first.join(10)
    second.join(10)

    assert isinstance(anchors["first"], x509.Certificate), anchors["first"]
    assert anchors["second"] == anchors["first"]
    assert keys.trust_anchor().certificate == anchors["first"]


def test_a_department_key_is_certified_by_the_anchor_for_its_types(civil_affairs, key_dir):
    key = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])

    certificate = x509.load_pem_x509_certificate(key.certificate_pem.encode())
    certificate.verify_directly_issued_by(keys.trust_anchor().certificate)
    assert key.kid == signedqr.key_id(certificate).hex()
    assert key.certificate_types == ["CT-JHZ"]
    assert (key_dir / f"{key.kid}.pem").exists()
    assert "PRIVATE" not in key.certificate_pem
    assert keys.signing_key_for(civil_affairs, "CT-JHZ") == key
    assert keys.signing_key_for(civil_affairs, "CT-YYZZ") is None


def test_a_retired_key_signs_nothing_more_but_stays_in_the_trust_list(civil_affairs):
    old = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    keys.signing_key_retire(old)
    new = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])

    assert keys.signing_key_for(civil_affairs, "CT-JHZ") == new
    loaded = keys.trust_list_load(keys.trust_list_sign(), anchors=[keys.trust_anchor().certificate])
    assert set(loaded.departments) == {bytes.fromhex(old.kid), bytes.fromhex(new.kid)}


def test_a_code_signed_by_a_department_verifies_offline_with_the_loaded_trust_list(
    civil_affairs,
):
    key = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    now = timezone.now()
    text = signedqr.sign(
        claims={"type": "CT-JHZ", "number": "J330106-2025-002718"},
        key=keys.signing_key_private(key),
        kid=bytes.fromhex(key.kid),
        prefix="YW1:",
        issuer="330106-MZ",
        issued_at=now,
        expires_at=now + datetime.timedelta(days=1),
    )
    trust = keys.trust_list_load(keys.trust_list_sign(), anchors=[keys.trust_anchor().certificate])

    verified = signedqr.verify(
        text,
        trust=trust.store,
        clock=now + datetime.timedelta(minutes=1),
        prefix="YW1:",
        certificate_type="CT-JHZ",
    )

    assert verified.payload["number"] == "J330106-2025-002718"
    assert trust.departments[bytes.fromhex(key.kid)] == "330106-MZ"
    with pytest.raises(signedqr.SignedQrError) as caught:
        signedqr.verify(
            text,
            trust=trust.store,
            clock=now + datetime.timedelta(minutes=1),
            prefix="YW1:",
            certificate_type="CT-YYZZ",
        )
    assert caught.value.verdict == signedqr.Verdict.KEY_NOT_ALLOWED


def test_a_trust_list_from_another_anchor_is_refused(civil_affairs, settings, tmp_path):
    keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    ours = keys.trust_list_sign()
    our_anchor = keys.trust_anchor().certificate
    settings.CERTIFICATES_KEY_DIR = tmp_path / "another-region"
    theirs = keys.trust_anchor().certificate

    with pytest.raises(keys.TrustListError, match="does not accept"):
        keys.trust_list_load(ours, anchors=[theirs])
    assert len(keys.trust_list_load(ours, anchors=[theirs, our_anchor]).store) == 1


def test_a_tampered_stale_or_malformed_trust_list_is_refused(civil_affairs):
    keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    anchors = [keys.trust_anchor().certificate]
    signed = keys.trust_list_sign()
    tag = cbor2.loads(signed)
    protected, unprotected, payload, signature = tag.value
    document = cbor2.loads(payload)
    document["keys"][0]["types"] = ["CT-JHZ", "CT-YYZZ"]
    tampered = cbor2.dumps(
        cbor2.CBORTag(18, [protected, unprotected, cbor2.dumps(document), signature])
    )

    with pytest.raises(keys.TrustListError, match="signature"):
        keys.trust_list_load(tampered, anchors=anchors)
    with pytest.raises(keys.TrustListError, match="out of date"):
        keys.trust_list_load(
            signed, anchors=anchors, now=timezone.now() + datetime.timedelta(days=8)
        )
    with pytest.raises(keys.TrustListError, match="not a signed trust list"):
        keys.trust_list_load(b"\x00garbage", anchors=anchors)


def test_an_entry_certified_by_someone_else_is_refused(civil_affairs):
    """The anchor signed the list, but an entry's certificate is self-made: not trusted."""
    anchor = keys.trust_anchor()
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "rogue")])
    now = timezone.now()
    rogue = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(rogue_key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(rogue_key, hashes.SHA256())
    )
    document = {
        "format": 1,
        "issuer": "x",
        "issued_at": int(now.timestamp()),
        "next_update": int((now + datetime.timedelta(days=1)).timestamp()),
        "keys": [
            {
                "kid": signedqr.key_id(rogue),
                "department": "330106-MZ",
                "name": "rogue",
                "certificate": rogue.public_bytes(serialization.Encoding.DER),
                "types": ["CT-JHZ"],
                "retired": False,
            }
        ],
    }
    signed = signedqr.cose_sign1(
        cbor2.dumps(document), key=anchor.key, kid=signedqr.key_id(anchor.certificate)
    )

    with pytest.raises(keys.TrustListError, match="not issued by the anchor"):
        keys.trust_list_load(signed, anchors=[anchor.certificate])


def test_a_key_needs_types_and_a_missing_private_key_is_reported(civil_affairs, key_dir):
    with pytest.raises(ValueError, match="types"):
        keys.signing_key_create(department=civil_affairs, certificate_types=[])
    key = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    (key_dir / f"{key.kid}.pem").unlink()

    with pytest.raises(keys.KeyUnavailable, match="missing"):
        keys.signing_key_private(key)
    assert SigningKey.objects.count() == 1


def test_the_admin_shows_keys_but_cannot_add_change_or_delete_them(civil_affairs):
    key = keys.signing_key_create(department=civil_affairs, certificate_types=["CT-JHZ"])
    client = Client()
    client.force_login(UserFactory(is_superuser=True, is_staff=True))

    listing = client.get("/admin/certificates/signingkey/")
    detail = client.get(f"/admin/certificates/signingkey/{key.pk}/change/")
    add = client.get("/admin/certificates/signingkey/add/")
    delete = client.post(f"/admin/certificates/signingkey/{key.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200
    assert key.kid in listing.content.decode()
    assert detail.status_code == 200
    assert add.status_code == 403
    assert delete.status_code == 403
    assert SigningKey.objects.filter(pk=key.pk).exists()
