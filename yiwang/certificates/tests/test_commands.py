"""certificates_publish, qr_verify (the offline verifier) and certificates_import."""

from __future__ import annotations

import datetime
import io
import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone, translation

from yiwang.certificates import keys, services
from yiwang.certificates.models import Certificate, SigningKey
from yiwang.certificates.qrimage import qr_image_encode
from yiwang.certificates.tests.test_services import HUSBAND_ID, IMPORT_HEADER, WIFE_ID, marriage
from yiwang.certificates.tests.test_verify_views import code_tampered
from yiwang.certificates.verification import platform_verifier
from yiwang.identity.models import StaffRole
from yiwang.identity.tests.factories import StaffRoleFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def certificate(marriage_type, civil_affairs):
    return marriage(civil_affairs, issued_on=datetime.date(2026, 5, 20))


@pytest.fixture
def approver(civil_affairs):
    return StaffRoleFactory(department=civil_affairs, role=StaffRole.Role.APPROVER).user


@pytest.fixture
def kid(certificate):
    return services.signing_key_in_force(certificate.issuer, certificate.certificate_type).kid


def run(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def run_failing(*args, **options) -> tuple[CommandError, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=out, stderr=err, **options)
    return caught.value, out.getvalue(), err.getvalue()


def listing(folder) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.fixture
def published(tmp_path, certificate):
    folder = tmp_path / "published"
    run("certificates_publish", out=folder)
    return folder


# ---------------------------------------------------------------------------------------
# certificates_publish


def test_publishing_writes_the_peer_folder_layout_and_says_what_it_wrote(
    tmp_path, certificate, kid, key_dir
):
    folder = tmp_path / "out"

    out, _err = run("certificates_publish", out=folder)

    assert listing(folder) == [
        "anchor.crt",
        "revocation",
        f"revocation/{kid}.cose",
        "trust-list.cose",
    ]
    trust = keys.trust_list_load(
        (folder / "trust-list.cose").read_bytes(), anchors=[keys.trust_anchor().certificate]
    )
    assert out.splitlines() == [
        f"wrote {folder / 'anchor.crt'}",
        f"wrote {folder / 'revocation' / f'{kid}.cose'} (0 revoked)",
        f"wrote {folder / 'trust-list.cose'} (1 keys, next update {trust.next_update.isoformat()})",
        f"Lists published in {folder}.",
    ]
    assert (folder / "anchor.crt").read_bytes() == (key_dir / "anchor.crt").read_bytes()
    # Public documents: readable by the web server that serves them.
    for name in ("anchor.crt", "trust-list.cose", f"revocation/{kid}.cose"):
        assert stat.S_IMODE((folder / name).stat().st_mode) == 0o644


def test_publishing_again_replaces_the_lists_and_removes_those_of_expired_keys(
    published, certificate, kid, approver
):
    (published / "revocation" / "00000000deadbeef.cose").write_bytes(b"an expired key's list")
    services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")

    out, _err = run("certificates_publish", out=published)

    assert f"wrote {published / 'revocation' / f'{kid}.cose'} (1 revoked)" in out.splitlines()
    assert f"removed {published / 'revocation' / '00000000deadbeef.cose'}" in out.splitlines()
    # No temporary file is left behind.
    assert listing(published) == [
        "anchor.crt",
        "revocation",
        f"revocation/{kid}.cose",
        "trust-list.cose",
    ]


def test_publishing_with_a_signing_key_missing_writes_nothing(tmp_path, certificate, kid, key_dir):
    (key_dir / f"{kid}.pem").unlink()
    folder = tmp_path / "out"

    error, out, _err = run_failing("certificates_publish", out=folder)

    assert str(error).startswith("Nothing published: the private key")
    assert out == ""
    assert not folder.exists()


def test_publishing_into_a_file_is_refused(tmp_path, certificate):
    target = tmp_path / "file"
    target.write_text("")

    error, _out, _err = run_failing("certificates_publish", out=target)

    assert str(error) == f"{target} exists and is not a folder."


def test_a_published_folder_serves_as_another_regions_peer_folder(
    tmp_path, settings, marriage_type, civil_affairs, approver
):
    # Hangzhou issues and publishes; Shanghai's platform copies the folder as a peer.
    settings.CERTIFICATES_KEY_DIR = tmp_path / "hangzhou-keys"
    kept = marriage(civil_affairs)
    revoked = marriage(civil_affairs)
    kept_text = services.certificate_qr_for_wallet(kept)
    revoked_text = services.certificate_qr_for_wallet(revoked)
    services.certificate_revoke(actor=approver, certificate=revoked, reason="错误登记")
    run("certificates_publish", out=settings.CERTIFICATES_PEER_DIR / "hangzhou")
    settings.CERTIFICATES_KEY_DIR = tmp_path / "shanghai-keys"
    Certificate.objects.all().delete()
    SigningKey.objects.all().delete()

    verifier = platform_verifier()

    assert verifier.verify(kept_text).revocation == "checked"
    assert verifier.verify(kept_text).valid is True
    assert verifier.verify(revoked_text).verdict == "revoked"


# ---------------------------------------------------------------------------------------
# qr_verify: results and exit codes


def test_a_valid_code_verifies_offline_without_touching_the_database(
    published, certificate, django_assert_num_queries
):
    text = services.certificate_qr_for_wallet(certificate)

    with django_assert_num_queries(0):
        out, _err = run("qr_verify", text, lists=published)

    lines = out.splitlines()
    assert lines[:5] == [
        "VALID",
        "The certificate is valid: it was signed by the issuing department.",
        "signer: 杭州市西湖区民政局",
        f"code expires: {platform_verifier().verify(text).verified.expires_at.isoformat()}",
        "revocation: checked",
    ]
    assert json.loads("\n".join(lines[5:]))["id"] == certificate.identifier


def test_the_json_output_has_the_apis_shape(published, certificate):
    text = services.certificate_qr_for_wallet(certificate)

    out, _err = run("qr_verify", text, lists=published, json=True)

    body = json.loads(out)
    assert sorted(body) == [
        "certificate",
        "expires_at",
        "message",
        "revocation",
        "signer",
        "valid",
        "verdict",
    ]
    assert (body["valid"], body["verdict"], body["revocation"]) == (True, None, "checked")
    assert body["certificate"]["h"] == {"k": "person", "n": "林晓雯", "i": "3301**********0027"}
    assert body["signer"] == "杭州市西湖区民政局"


def test_a_tampered_code_exits_1_with_its_verdict(published, certificate):
    text = code_tampered(services.certificate_qr_for_wallet(certificate))

    error, out, _err = run_failing("qr_verify", text, lists=published, json=True)

    assert (error.returncode, str(error)) == (1, "not valid: bad_signature")
    assert json.loads(out) == {
        "valid": False,
        "verdict": "bad_signature",
        "message": (
            "The signature does not match the content: the code has been altered or forged."
        ),
        "revocation": "not_applicable",
        "certificate": None,
        "signer": None,
        "expires_at": None,
    }


def test_a_certificate_revoked_before_publishing_exits_1(tmp_path, certificate, approver):
    text = services.certificate_qr_for_wallet(certificate)
    services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")
    run("certificates_publish", out=tmp_path / "lists")

    error, out, _err = run_failing("qr_verify", text, lists=tmp_path / "lists")

    assert (error.returncode, str(error)) == (1, "not valid: revoked")
    assert out.splitlines() == [
        "NOT VALID (revoked)",
        "The issuing department has revoked this certificate. It is no longer valid.",
        "detail: the certificate has been revoked",
    ]


def test_a_code_checked_after_its_expiry_exits_1(published, certificate, settings):
    settings.CERTIFICATES_QR_MINUTES = 10
    text = services.certificate_qr_for_wallet(certificate)
    later = (timezone.now() + datetime.timedelta(minutes=11)).isoformat()

    error, _out, _err = run_failing("qr_verify", text, lists=published, at=later)

    assert (error.returncode, str(error)) == (1, "not valid: expired")


def test_a_code_of_another_platform_exits_1_as_unknown_key(
    tmp_path, settings, published, marriage_type, civil_affairs
):
    settings.CERTIFICATES_KEY_DIR = tmp_path / "other-platform"
    SigningKey.objects.all().delete()
    text = services.certificate_qr_for_wallet(marriage(civil_affairs))

    error, _out, _err = run_failing("qr_verify", text, lists=published)

    assert (error.returncode, str(error)) == (1, "not valid: unknown_key")


@pytest.mark.parametrize(
    "text", ["https://example.cn", "YW1:lower case"], ids=["wrong-prefix", "bad-base45"]
)
def test_text_that_is_no_code_exits_1(published, text):
    error, _out, _err = run_failing("qr_verify", text, lists=published)

    assert error.returncode == 1


def test_a_photo_of_the_code_verifies(published, certificate, tmp_path):
    photo = tmp_path / "code.png"
    photo.write_bytes(qr_image_encode(services.certificate_qr_for_wallet(certificate)))

    out, _err = run("qr_verify", image=photo, lists=published)

    assert out.splitlines()[0] == "VALID"


def test_the_code_can_come_on_standard_input(published, certificate, monkeypatch):
    text = services.certificate_qr_for_wallet(certificate)
    monkeypatch.setattr(sys, "stdin", io.StringIO(text + "\n"))

    out, _err = run("qr_verify", stdin=True, lists=published)

    assert out.splitlines()[0] == "VALID"


def test_a_code_with_another_prefix_verifies_with_prefix(tmp_path, settings, certificate):
    settings.CERTIFICATES_QR_PREFIX = "SH1:"
    text = services.certificate_qr_for_wallet(certificate)
    run("certificates_publish", out=tmp_path / "lists")
    settings.CERTIFICATES_QR_PREFIX = "YW1:"

    error, _out, _err = run_failing("qr_verify", text, lists=tmp_path / "lists")
    out, _err = run("qr_verify", text, lists=tmp_path / "lists", prefix="SH1:")

    assert str(error) == "not valid: wrong_prefix"
    assert out.splitlines()[0] == "VALID"


# ---------------------------------------------------------------------------------------
# qr_verify: lists that cannot be used, and usage errors, exit 2


def test_a_stale_revocation_list_is_an_error_even_for_a_good_signature(
    tmp_path, settings, certificate, kid
):
    settings.CERTIFICATES_REVOCATION_LIST_HOURS = 1
    text = services.certificate_qr_for_wallet(certificate)
    run("certificates_publish", out=tmp_path / "lists")
    at = timezone.now() + datetime.timedelta(hours=2)
    listed = tmp_path / "lists" / "revocation" / f"{kid}.cose"

    error, out, _err = run_failing("qr_verify", text, lists=tmp_path / "lists", at=at.isoformat())

    assert error.returncode == 2
    assert str(error).startswith(
        f"the signature is valid, but the revocation list {listed} is out of date (its next "
        "update was due "
    )
    assert str(error).endswith("): publish and fetch the lists again")
    assert "revocation: stale" in out.splitlines()


def test_a_missing_revocation_list_is_an_error_even_for_a_good_signature(
    published, certificate, kid
):
    text = services.certificate_qr_for_wallet(certificate)
    (published / "revocation" / f"{kid}.cose").unlink()

    error, _out, _err = run_failing("qr_verify", text, lists=published)

    assert (error.returncode, str(error)) == (
        2,
        "the signature is valid, but there is no revocation list for its key "
        f"({published / 'revocation' / f'{kid}.cose'} is missing)",
    )


def test_a_revoked_code_is_invalid_even_when_its_list_is_stale(
    tmp_path, settings, certificate, approver
):
    settings.CERTIFICATES_REVOCATION_LIST_HOURS = 1
    text = services.certificate_qr_for_wallet(certificate)
    services.certificate_revoke(actor=approver, certificate=certificate, reason="错误登记")
    run("certificates_publish", out=tmp_path / "lists")
    at = (timezone.now() + datetime.timedelta(hours=2)).isoformat()

    error, _out, _err = run_failing("qr_verify", text, lists=tmp_path / "lists", at=at)

    assert (error.returncode, str(error)) == (1, "not valid: revoked")


def test_a_stale_trust_list_is_an_error(published, certificate):
    text = services.certificate_qr_for_wallet(certificate)
    later = timezone.now() + datetime.timedelta(days=django_settings.CERTIFICATES_TRUST_LIST_DAYS)
    at = (later + datetime.timedelta(minutes=1)).isoformat()

    error, _out, _err = run_failing("qr_verify", text, lists=published, at=at)

    assert (error.returncode, str(error)) == (
        2,
        f"{published / 'trust-list.cose'} cannot be used: the trust list is out of date: "
        "fetch a new one",
    )


def test_a_tampered_trust_list_is_an_error(published, certificate):
    text = services.certificate_qr_for_wallet(certificate)
    trust_list = bytearray((published / "trust-list.cose").read_bytes())
    trust_list[-5] ^= 0x01
    (published / "trust-list.cose").write_bytes(bytes(trust_list))

    error, _out, _err = run_failing("qr_verify", text, lists=published)

    assert (error.returncode, str(error)) == (
        2,
        f"{published / 'trust-list.cose'} cannot be used: the trust list's signature does not "
        "verify",
    )


def test_a_tampered_revocation_list_is_an_error_naming_the_file(published, certificate, kid):
    text = services.certificate_qr_for_wallet(certificate)
    path = published / "revocation" / f"{kid}.cose"
    listed = bytearray(path.read_bytes())
    listed[-5] ^= 0x01
    path.write_bytes(bytes(listed))

    error, _out, _err = run_failing("qr_verify", text, lists=published)

    assert (error.returncode, str(error)) == (
        2,
        f"{path} cannot be used: the revocation list's signature does not verify",
    )


def test_lists_under_an_anchor_not_accepted_are_an_error_unless_it_is_given(
    published, certificate, tmp_path, settings
):
    text = services.certificate_qr_for_wallet(certificate)
    real_anchor = tmp_path / "real-anchor.crt"
    real_anchor.write_bytes((published / "anchor.crt").read_bytes())
    # Someone swapped the folder's anchor for their own.
    settings.CERTIFICATES_KEY_DIR = tmp_path / "impostor"
    impostor = keys.trust_anchor().certificate
    (published / "anchor.crt").write_bytes(impostor.public_bytes(serialization.Encoding.PEM))

    error, _out, _err = run_failing("qr_verify", text, lists=published)
    out, _err = run("qr_verify", text, lists=published, anchor=[real_anchor])

    assert (error.returncode, str(error)) == (
        2,
        f"{published / 'trust-list.cose'} cannot be used: signed by an anchor this platform "
        "does not accept",
    )
    assert out.splitlines()[0] == "VALID"


def test_a_folder_without_lists_is_an_error(tmp_path):
    error, _out, _err = run_failing("qr_verify", "YW1:X", lists=tmp_path / "nothing")

    assert (error.returncode, str(error)) == (
        2,
        f"cannot read the anchor certificate {tmp_path / 'nothing' / 'anchor.crt'}: "
        "No such file or directory",
    )


def test_an_anchor_that_is_not_a_certificate_is_an_error(published):
    (published / "anchor.crt").write_text("not a certificate")

    error, _out, _err = run_failing("qr_verify", "YW1:X", lists=published)

    assert (error.returncode, str(error)) == (
        2,
        f"{published / 'anchor.crt'} is not a PEM certificate",
    )


@pytest.mark.parametrize(
    ("args", "options"),
    [
        ((), {}),
        (("YW1:X",), {"stdin": True}),
        (("YW1:X",), {"image": "code.png"}),
    ],
    ids=["none", "text-and-stdin", "text-and-image"],
)
def test_the_code_must_be_given_exactly_one_way(published, args, options):
    error, _out, _err = run_failing("qr_verify", *args, lists=published, **options)

    assert (error.returncode, str(error)) == (
        2,
        "give the code one way: its TEXT, --image FILE or --stdin",
    )


def test_a_bad_time_is_a_usage_error(published):
    error, _out, _err = run_failing("qr_verify", "YW1:X", lists=published, at="next tuesday")

    assert (error.returncode, str(error)) == (
        2,
        "--at 'next tuesday' is not an ISO 8601 date and time",
    )


def test_a_picture_without_a_code_is_a_usage_error(published, tmp_path):
    picture = tmp_path / "notes.txt"
    picture.write_text("not a picture")

    error, _out, _err = run_failing("qr_verify", image=picture, lists=published)

    assert (error.returncode, str(error)) == (2, f"{picture}: not a PNG or JPEG picture")


def test_manage_py_exits_1_for_a_code_that_is_not_valid(published, certificate, tmp_path):
    text = code_tampered(services.certificate_qr_for_wallet(certificate))
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "YIWANG_DATA_DIR": str(tmp_path / "data"),
        "SECRET_KEY": "qr-verify-test-" + "x" * 40,
    }

    finished = subprocess.run(  # noqa: S603 - our own manage.py with fixed arguments
        [sys.executable, "manage.py", "qr_verify", text, "--lists", str(published)],
        cwd=django_settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert finished.returncode == 1
    assert finished.stderr.splitlines()[-1] == "CommandError: not valid: bad_signature"


# ---------------------------------------------------------------------------------------
# certificates_import

WIFE_ROW = f"CT-JHZ,330106-MZ,person,{WIFE_ID},林晓雯,J1,2019-05-20,,A-1,林晓雯,{WIFE_ID},周子航\n"
HUSBAND_ROW = (
    f"CT-JHZ,330106-MZ,person,{HUSBAND_ID},周子航,J1,2019-05-20,,A-2,周子航,{HUSBAND_ID},林晓雯\n"
)


def test_importing_a_file_prints_the_counts(tmp_path, marriage_type, civil_affairs):
    path = tmp_path / "civil-affairs-2019.csv"
    path.write_text(IMPORT_HEADER + WIFE_ROW + HUSBAND_ROW, encoding="utf-8-sig")

    first, _err = run("certificates_import", str(path))
    second, _err = run("certificates_import", str(path), batch="again")

    assert first == "2 certificates imported, 0 imported before and skipped.\n"
    assert second == "0 certificates imported, 2 imported before and skipped.\n"
    assert Certificate.objects.filter(source__startswith="import:330106-MZ:").count() == 2


def test_an_import_with_errors_prints_each_and_exits_1(tmp_path, marriage_type, civil_affairs):
    path = tmp_path / "bad.csv"
    path.write_text(
        IMPORT_HEADER
        + WIFE_ROW
        + f"CT-JHZ,330106-XX,person,{HUSBAND_ID},周子航,J1,2019-05-20,,A-3,,,\n"
        + f"CT-JHZ,330106-MZ,person,{HUSBAND_ID},周子航,J1,20 May,,A-4,,,\n"
    )

    error, out, err = run_failing("certificates_import", str(path))

    assert (error.returncode, str(error)) == (1, f"2 errors in {path}: nothing was imported.")
    assert out == ""
    assert err.splitlines() == [
        "row 3: unknown department 330106-XX",
        "row 4: issued_on is not a date (YYYY-MM-DD)",
    ]
    assert not Certificate.objects.exists()


def test_a_gb18030_file_needs_its_encoding(tmp_path, marriage_type, civil_affairs):
    path = tmp_path / "gbk.csv"
    path.write_bytes((IMPORT_HEADER + WIFE_ROW).encode("gb18030"))

    error, _out, _err = run_failing("certificates_import", str(path))
    out, _err = run("certificates_import", str(path), encoding="gb18030")

    assert str(error).startswith(f"{path} is not utf-8-sig text: ")
    assert str(error).endswith(". Give its --encoding.")
    assert out == "1 certificates imported, 0 imported before and skipped.\n"
    assert Certificate.objects.get().holder_name == "林晓雯"


def test_an_import_of_a_missing_file_exits_1(tmp_path):
    error, _out, _err = run_failing("certificates_import", str(tmp_path / "none.csv"))

    assert (error.returncode, str(error)) == (
        1,
        f"cannot read {tmp_path / 'none.csv'}: No such file or directory",
    )
