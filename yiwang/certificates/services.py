"""Use cases of electronic certificates: issue, import, revoke, show as QR, authorise use.

A certificate's QR code is signed when it is shown (``certificate_qr``): the issuing
department's key in force then signs a CWT that expires soon (a screenshot goes stale),
or, for a printed PDF, when the certificate or the key does. The data in the code is what
a verifier needs to see; personal identifiers in it are masked.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import cbor2
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yiwang.certificates import keys, signedqr
from yiwang.certificates.models import (
    Certificate,
    CertificateAuthorisation,
    CertificateType,
    CertificateUse,
    SigningKey,
)
from yiwang.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yiwang.core.identifiers import certificate_id_build, resident_id_parse, uscc_parse
from yiwang.core.masking import mask_id_number
from yiwang.exchange import selectors as exchange_selectors
from yiwang.identity.models import Department, StaffRole, User
from yiwang.identity.selectors import (
    agencies_for_user,
    organisations_represented_by,
    user_has_role_in_department,
)

# The CWT's certificate data (claim -260 / 1) of the platform's own codes.
PAYLOAD_VERSION = 1
# Fields holding a person's ID number (``id_number``, ``spouse_id_number`` …) are masked in
# a QR code, as everywhere the full number is not needed.
MASKED_SUFFIX = "id_number"
IMPORT_MAX_ROWS = 50_000
PURPOSE_MAX = 200


# ---------------------------------------------------------------------------------------
# Holders


def _holder_check(kind: str, identifier: str) -> str:
    if kind == "person":
        return resident_id_parse(identifier, field="holder_identifier").number
    if kind == "organisation":
        return uscc_parse(identifier, field="holder_identifier")
    raise ValidationFailed.for_field(
        "holder_kind", _("The holder must be a person or an organisation.")
    )


def holder_identifiers_of(user: User) -> list[str]:
    """Whose certificates the user may hold up: her own, her minor children's (she is their
    registered guardian), and her organisations' ones."""
    identifiers = [user.id_number] if user.id_number else []
    if user.id_number and user.assurance_level >= 2:
        identifiers += exchange_selectors.wards_of(user.id_number)
    identifiers += organisations_represented_by(user).values_list("uscc", flat=True)
    identifiers += agencies_for_user(user).values_list("organisation__uscc", flat=True)
    return identifiers


def certificate_for_holder(user: User, certificate_id: int) -> Certificate:
    """The certificate if the user holds it (or acts for the organisation that does)."""
    certificate = (
        Certificate.objects.select_related("certificate_type", "issuer")
        .filter(pk=certificate_id, holder_identifier__in=holder_identifiers_of(user))
        .first()
    )
    if certificate is None:
        raise NotFound()
    return certificate


# ---------------------------------------------------------------------------------------
# Issuing


def _type_get(code: str) -> CertificateType:
    certificate_type = CertificateType.objects.filter(code=code).first()
    if certificate_type is None:
        raise ValidationFailed.for_field(
            "certificate_type", _("Unknown certificate type %(code)s.") % {"code": code}
        )
    return certificate_type


def _data_check(certificate_type: CertificateType, data: Mapping[str, Any]) -> dict[str, str]:
    allowed = set(certificate_type.fields)
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValidationFailed.for_field(
            "data",
            _("%(type)s has no field %(fields)s.")
            % {"type": certificate_type.name, "fields": ", ".join(unknown)},
            code="certificate_field_unknown",
        )
    cleaned: dict[str, str] = {}
    for name in certificate_type.fields:
        value = data.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ValidationFailed.for_field(
                "data", _("Field %(field)s must be text.") % {"field": name}
            )
        if len(str(value)) > 500:
            raise ValidationFailed.for_field(
                "data", _("Field %(field)s is too long.") % {"field": name}
            )
        cleaned[name] = str(value)
    return cleaned


def _next_serial(
    issuer: Department, certificate_type: CertificateType, issued_on: datetime.date
) -> str:
    """<yyyymmdd><6-digit sequence of the issuer's certificates of the type that day>."""
    day = issued_on.strftime("%Y%m%d")
    count = Certificate.objects.filter(
        issuer=issuer, certificate_type=certificate_type, issued_on=issued_on
    ).count()
    return f"{day}{count + 1:06d}"


def _issuer_check(issuer: Department, certificate_type: CertificateType) -> None:
    if not issuer.uscc:
        raise Conflict(
            _("%(department)s has no unified social credit code, so it cannot issue certificates.")
            % {"department": issuer.name},
            code="issuer_without_uscc",
        )
    if issuer.kind != certificate_type.issuer_kind:
        raise PermissionDenied(
            _("%(department)s does not issue %(type)s.")
            % {"department": issuer.name, "type": certificate_type.name},
            code="issuer_not_allowed",
        )


def signing_key_in_force(issuer: Department, certificate_type: CertificateType) -> SigningKey:
    """The issuer's key for the type; a department's first key is made on first need."""
    key = keys.signing_key_for(issuer, certificate_type.code)
    if key is None:
        types = CertificateType.objects.filter(issuer_kind=issuer.kind).values_list(
            "code", flat=True
        )
        key = keys.signing_key_create(department=issuer, certificate_types=list(types))
    return key


def certificate_issue(
    *,
    certificate_type: str,
    issuer: Department,
    holder_kind: str,
    holder_identifier: str,
    holder_name: str,
    data: Mapping[str, Any],
    number: str = "",
    issued_on: datetime.date | None = None,
    valid_until: datetime.date | None = None,
    source: str = "",
) -> Certificate:
    """Issue a certificate to a holder; the same source issues it once.

    Call inside the transaction of the step that decides it (an application's result), so
    that a certificate exists exactly when that decision does.
    """
    kind = _type_get(certificate_type)
    if holder_kind != kind.holder:
        message = (
            _("%(type)s is issued to a natural person.")
            if kind.holder == "person"
            else _("%(type)s is issued to a legal person.")
        )
        raise ValidationFailed.for_field("holder_kind", message % {"type": kind.name})
    identifier_value = _holder_check(holder_kind, holder_identifier)
    if not holder_name.strip():
        raise ValidationFailed.for_field("holder_name", _("Enter the holder's name."))
    _issuer_check(issuer, kind)
    cleaned = _data_check(kind, data)
    issued_on = issued_on or timezone.localdate()
    if valid_until is None and kind.validity_years:
        try:
            valid_until = issued_on.replace(year=issued_on.year + kind.validity_years)
        except ValueError:  # 29 February
            valid_until = issued_on.replace(year=issued_on.year + kind.validity_years, day=28)
    if valid_until is not None and valid_until < issued_on:
        raise ValidationFailed.for_field(
            "valid_until", _("A certificate cannot expire before it is issued.")
        )
    if source:
        existing = Certificate.objects.filter(source=source, certificate_type=kind).first()
        if existing is not None:
            return existing
    with transaction.atomic():
        # Serials are per issuer, type and day: lock the issuer row to hand them out in turn.
        # The lock also lets only one first issuance make the department's signing key.
        Department.objects.select_for_update().filter(pk=issuer.pk).first()
        signing_key_in_force(issuer, kind)
        serial = _next_serial(issuer, kind, issued_on)
        identifier = certificate_id_build(
            type_code=kind.code, issuer_uscc=issuer.uscc, serial=serial
        )
        return Certificate.objects.create(
            certificate_type=kind,
            identifier=str(identifier),
            number=number,
            holder_kind=holder_kind,
            holder_identifier=identifier_value,
            holder_name=holder_name.strip(),
            data=cleaned,
            issuer=issuer,
            issued_on=issued_on,
            valid_until=valid_until,
            source=source,
        )


# ---------------------------------------------------------------------------------------
# Bulk import


@dataclass
class ImportResult:
    created: int = 0
    skipped: int = 0  # already imported (same source reference)
    errors: list[str] = field(default_factory=list)


IMPORT_COLUMNS = (
    "certificate_type",
    "issuer",
    "holder_kind",
    "holder_identifier",
    "holder_name",
    "number",
    "issued_on",
    "valid_until",
    "reference",
)


def _date_parse(value: str, column: str, row: int) -> datetime.date | None:
    if not value:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _("row %(row)d: %(column)s is not a date (YYYY-MM-DD)") % {"row": row, "column": column}
        ) from None


def certificates_import(*, csv_text: str, batch: str) -> ImportResult:
    """Import existing certificates from CSV: all rows or none.

    Columns: certificate_type, issuer (department code), holder_kind, holder_identifier,
    holder_name, number, issued_on, valid_until, reference (the issuer's own id of the
    certificate, so that importing the same file twice imports it once), then one
    ``data.<field>`` column per certificate field.
    """
    result = ImportResult()
    reader = csv.DictReader(io.StringIO(csv_text.lstrip("\ufeff")))
    missing = [c for c in IMPORT_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        result.errors.append(_("missing columns: %(columns)s") % {"columns": ", ".join(missing)})
        return result
    departments = {d.code: d for d in Department.objects.all()}
    rows = []
    for line, row in enumerate(reader, start=2):
        if line - 1 > IMPORT_MAX_ROWS:
            result.errors.append(_("more than %(max)d rows") % {"max": IMPORT_MAX_ROWS})
            return result
        rows.append((line, row))
    try:
        with transaction.atomic():
            for line, row in rows:
                try:
                    _import_row(row, line, batch, departments, result)
                except ValueError as exc:
                    result.errors.append(str(exc))
                except ValidationFailed as exc:
                    messages = [str(m) for ms in exc.fields.values() for m in ms] or [
                        str(exc.message)
                    ]
                    result.errors.append(
                        _("row %(row)d: %(message)s")
                        % {"row": line, "message": "; ".join(messages)}
                    )
                except (Conflict, PermissionDenied) as exc:
                    result.errors.append(
                        _("row %(row)d: %(message)s") % {"row": line, "message": exc.message}
                    )
            if result.errors:
                raise _ImportRolledBack
    except _ImportRolledBack:
        result.created = result.skipped = 0
    return result


class _ImportRolledBack(Exception):
    pass


def _import_row(
    row: Mapping[str, str | None],
    line: int,
    batch: str,
    departments: Mapping[str, Department],
    result: ImportResult,
) -> None:
    def value(column: str) -> str:
        return (row.get(column) or "").strip()

    issuer = departments.get(value("issuer"))
    if issuer is None:
        raise ValueError(
            _("row %(row)d: unknown department %(code)s") % {"row": line, "code": value("issuer")}
        )
    reference = value("reference")
    if not reference:
        raise ValueError(_("row %(row)d: reference is empty") % {"row": line})
    source = f"import:{issuer.code}:{reference}"[:100]
    if Certificate.objects.filter(source=source).exists():
        result.skipped += 1
        return
    data = {
        column[len("data.") :]: (text or "").strip()
        for column, text in row.items()
        if column and column.startswith("data.")
    }
    certificate_issue(
        certificate_type=value("certificate_type"),
        issuer=issuer,
        holder_kind=value("holder_kind"),
        holder_identifier=value("holder_identifier"),
        holder_name=value("holder_name"),
        data={k: v for k, v in data.items() if v},
        number=value("number"),
        issued_on=_date_parse(value("issued_on"), "issued_on", line),
        valid_until=_date_parse(value("valid_until"), "valid_until", line),
        source=source,
    )
    result.created += 1


# ---------------------------------------------------------------------------------------
# Revoking


def _may_revoke(actor: User, certificate: Certificate) -> bool:
    return user_has_role_in_department(
        actor,
        certificate.issuer,
        [StaffRole.Role.APPROVER, StaffRole.Role.DEPARTMENT_ADMIN],
    )


def certificate_revoke(*, actor: User, certificate: Certificate, reason: str) -> Certificate:
    """Revoke a certificate: it goes on its issuer's revocation lists from now on."""
    if not _may_revoke(actor, certificate):
        raise PermissionDenied(_("Only the issuing department's approvers may revoke it."))
    reason = reason.strip()
    if not reason:
        raise ValidationFailed.for_field("reason", _("Give the reason for revoking it."))
    with transaction.atomic():
        changed = Certificate.objects.filter(
            pk=certificate.pk, status=Certificate.Status.VALID
        ).update(
            status=Certificate.Status.REVOKED,
            revoked_at=timezone.now(),
            revocation_reason=reason[:200],
        )
        if not changed:
            raise Conflict(_("This certificate has already been revoked."), code="already_revoked")
        CertificateAuthorisation.objects.filter(
            certificate=certificate, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
    certificate.refresh_from_db()
    return certificate


# ---------------------------------------------------------------------------------------
# QR codes


def qr_payload(certificate: Certificate) -> dict[str, Any]:
    """What a verifier reads from the code: type, identifier, holder, data, issuer."""
    data = {
        name: (mask_id_number(value) if name.endswith(MASKED_SUFFIX) else value)
        for name, value in certificate.data.items()
    }
    holder_id = (
        mask_id_number(certificate.holder_identifier)
        if certificate.holder_kind == "person"
        else certificate.holder_identifier
    )
    payload: dict[str, Any] = {
        "ver": PAYLOAD_VERSION,
        "t": certificate.certificate_type.code,
        "tn": certificate.certificate_type.name,
        "id": certificate.identifier,
        "h": {"k": certificate.holder_kind, "n": certificate.holder_name, "i": holder_id},
        "is": {"c": certificate.issuer.code, "n": certificate.issuer.name},
        "d": data,
        "iss": certificate.issued_on.isoformat(),
    }
    if certificate.number:
        payload["no"] = certificate.number
    if certificate.valid_until:
        payload["vu"] = certificate.valid_until.isoformat()
    return payload


def _end_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(
        day + datetime.timedelta(days=1), datetime.time(), tzinfo=timezone.get_current_timezone()
    )


def certificate_qr(
    certificate: Certificate,
    *,
    now: datetime.datetime | None = None,
    lifetime: datetime.timedelta | None = None,
) -> str:
    """The certificate's signed QR text, valid from now for ``lifetime`` (the wallet's
    short-lived code by default; ``None`` for "as long as possible" on paper)."""
    if certificate.status != Certificate.Status.VALID:
        raise Conflict(_("A revoked certificate has no QR code."), code="revoked")
    now = now or timezone.now()
    if certificate.valid_until is not None and _end_of(certificate.valid_until) <= now:
        raise Conflict(_("This certificate has expired."), code="expired")
    key = signing_key_in_force(certificate.issuer, certificate.certificate_type)
    ends = [key.not_after]
    if lifetime is not None:
        ends.append(now + lifetime)
    if certificate.valid_until is not None:
        ends.append(_end_of(certificate.valid_until))
    return signedqr.sign(
        claims=qr_payload(certificate),
        key=keys.signing_key_private(key),
        kid=bytes.fromhex(key.kid),
        prefix=settings.CERTIFICATES_QR_PREFIX,
        issuer=certificate.issuer.region.code[:6] if certificate.issuer.region_id else "CN",
        issued_at=now.replace(microsecond=0),
        expires_at=min(ends).replace(microsecond=0),
    )


def certificate_qr_for_wallet(certificate: Certificate) -> str:
    return certificate_qr(
        certificate, lifetime=datetime.timedelta(minutes=settings.CERTIFICATES_QR_MINUTES)
    )


# ---------------------------------------------------------------------------------------
# Revocation lists


REVOCATION_LIST_FORMAT = 1


def revocation_hash(identifier: str) -> bytes:
    """What a revocation list carries for a certificate: 16 bytes of SHA-256 of its id."""
    return hashlib.sha256(identifier.upper().encode()).digest()[:16]


def revocation_list_sign(key: SigningKey, *, now: datetime.datetime | None = None) -> bytes:
    """The key's revocation list, signed by the key itself: every revoked certificate of
    the key's department and types (any code it signed may show one of them)."""
    now = now or timezone.now()
    revoked = Certificate.objects.filter(
        issuer_id=key.department_id,
        certificate_type__code__in=key.certificate_types,
        status=Certificate.Status.REVOKED,
    ).values_list("identifier", flat=True)
    document = {
        "format": REVOCATION_LIST_FORMAT,
        "kid": bytes.fromhex(key.kid),
        "issued_at": int(now.timestamp()),
        "next_update": int(
            (
                now + datetime.timedelta(hours=settings.CERTIFICATES_REVOCATION_LIST_HOURS)
            ).timestamp()
        ),
        "revoked": sorted(revocation_hash(identifier) for identifier in revoked),
    }
    return signedqr.cose_sign1(
        cbor2.dumps(document, canonical=True),
        key=keys.signing_key_private(key),
        kid=bytes.fromhex(key.kid),
        algorithm=signedqr.ES256.cose_id,
    )


def revocation_lists_sign(*, now: datetime.datetime | None = None) -> dict[str, bytes]:
    """Every unexpired key's revocation list, by kid (hex)."""
    now = now or timezone.now()
    return {
        key.kid: revocation_list_sign(key, now=now)
        for key in SigningKey.objects.filter(not_after__gt=now).order_by("kid")
    }


# ---------------------------------------------------------------------------------------
# Authorised use (授权用证)


def _access_code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().encode()).hexdigest()


@dataclass(frozen=True)
class Authorised:
    authorisation: CertificateAuthorisation
    access_code: str  # shown to the holder once, for a third party; "" for a department


def certificate_authorise(
    *,
    holder: User,
    certificate: Certificate,
    purpose: str,
    valid_until: datetime.date,
    department: Department | None = None,
    third_party_name: str = "",
    third_party_uscc: str = "",
) -> Authorised:
    """The holder lets a department, or a third party holding the access code, read the
    certificate for a purpose until a date."""
    certificate = certificate_for_holder(holder, certificate.pk)
    if certificate.status != Certificate.Status.VALID:
        raise Conflict(_("A revoked certificate cannot be shared."), code="revoked")
    today = timezone.localdate()
    if certificate.valid_until is not None and certificate.valid_until < today:
        raise Conflict(_("An expired certificate cannot be shared."), code="expired")
    purpose = purpose.strip()
    if not purpose:
        raise ValidationFailed.for_field("purpose", _("Say what it will be used for."))
    if len(purpose) > PURPOSE_MAX:
        raise ValidationFailed.for_field("purpose", _("The purpose is too long."))
    if valid_until < today:
        raise ValidationFailed.for_field("valid_until", _("The date has already passed."))
    if valid_until > today + datetime.timedelta(days=366):
        raise ValidationFailed.for_field(
            "valid_until", _("An authorisation lasts at most one year.")
        )
    third_party_name = third_party_name.strip()
    if (department is None) == (not third_party_name):
        raise ValidationFailed.for_field(
            "grantee", _("Choose a department, or name the third party.")
        )
    if third_party_uscc:
        third_party_uscc = uscc_parse(third_party_uscc, field="third_party_uscc")
    code = ""
    if department is None:
        # 12 characters from an unambiguous alphabet: short enough to read out, 60 bits.
        alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
        code = "".join(secrets.choice(alphabet) for _i in range(12))
    authorisation = CertificateAuthorisation.objects.create(
        certificate=certificate,
        granted_by=holder,
        department=department,
        third_party_name=third_party_name[:200],
        third_party_uscc=third_party_uscc,
        purpose=purpose,
        valid_until=valid_until,
        access_code_hash=_access_code_hash(code) if code else "",
    )
    return Authorised(authorisation=authorisation, access_code=code)


def certificate_authorisation_revoke(
    *, holder: User, authorisation_id: int
) -> CertificateAuthorisation:
    authorisation = CertificateAuthorisation.objects.filter(
        pk=authorisation_id, certificate__holder_identifier__in=holder_identifiers_of(holder)
    ).first()
    if authorisation is None:
        raise NotFound()
    CertificateAuthorisation.objects.filter(pk=authorisation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    authorisation.refresh_from_db()
    return authorisation


def _in_force() -> Q:
    """An authorisation that has not ended, of a certificate that is neither revoked nor
    expired: an expired certificate proves nothing, whatever the holder allowed."""
    today = timezone.localdate()
    return Q(
        Q(certificate__valid_until__isnull=True) | Q(certificate__valid_until__gte=today),
        revoked_at__isnull=True,
        valid_until__gte=today,
        certificate__status=Certificate.Status.VALID,
    )


def _use_record(
    authorisation: CertificateAuthorisation, *, used_by: User | None, label: str
) -> Certificate:
    CertificateUse.objects.create(
        authorisation=authorisation,
        certificate=authorisation.certificate,
        used_by=used_by,
        user_label=label[:200],
        purpose=authorisation.purpose,
    )
    return authorisation.certificate


@transaction.atomic
def certificate_read_by_department(*, staff: User, authorisation_id: int) -> Certificate:
    """A staff member of the authorised department reads the certificate; logged."""
    authorisation = (
        CertificateAuthorisation.objects.select_related(
            "certificate__certificate_type", "certificate__issuer", "department"
        )
        .filter(_in_force(), pk=authorisation_id, department__isnull=False)
        .first()
    )
    if (
        authorisation is None
        or authorisation.department is None
        or not user_has_role_in_department(staff, authorisation.department)
    ):
        raise NotFound()
    return _use_record(
        authorisation,
        used_by=staff,
        label=f"{authorisation.department.name if authorisation.department else ''} {staff.name}",
    )


@transaction.atomic
def certificate_read_by_code(*, access_code: str) -> Certificate:
    """A third party presents the access code the holder gave it; logged."""
    if not access_code.strip():
        raise ValidationFailed.for_field("access_code", _("Enter the access code."))
    authorisation = (
        CertificateAuthorisation.objects.select_related(
            "certificate__certificate_type", "certificate__issuer"
        )
        .filter(_in_force(), access_code_hash=_access_code_hash(access_code))
        .first()
    )
    if authorisation is None:
        raise NotFound(
            _("No certificate is shared with this access code, or its authorisation has ended.")
        )
    return _use_record(authorisation, used_by=None, label=authorisation.third_party_name)
