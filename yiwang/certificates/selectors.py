"""Reads of certificates: a holder's wallet, what a department has been shown, uses."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils import timezone

from yiwang.certificates.models import (
    Certificate,
    CertificateAuthorisation,
    CertificateType,
    CertificateUse,
    SigningKey,
)
from yiwang.certificates.services import holder_identifiers_of
from yiwang.identity.models import User


def certificates_of_holder(user: User) -> QuerySet[Certificate]:
    """The wallet: the user's certificates and those of organisations she acts for."""
    return (
        Certificate.objects.filter(holder_identifier__in=holder_identifiers_of(user))
        .select_related("certificate_type", "issuer")
        .order_by("holder_kind", "certificate_type__code", "-issued_on")
    )


def certificates_valid_of(
    holder_identifiers: Iterable[str], type_codes: Iterable[str]
) -> dict[str, Certificate]:
    """Type code → the newest certificate of that type, valid today, held by one of these
    holders (a person's ID number, her organisation's credit code).

    Every submission asks this. The database finds the holders' valid certificates (by
    its index on holder and status); the types, the end of validity and the order are
    checked here, on the handful a holder has, because compiling those conditions cost
    Django more than running the query.
    """
    today = timezone.localdate()
    wanted = set(type_codes)
    certificates = [
        certificate
        for certificate in Certificate.objects.filter(
            holder_identifier__in=[h for h in holder_identifiers if h],
            status=Certificate.Status.VALID,
        )
        .select_related("certificate_type")
        .order_by()
        if certificate.certificate_type.code in wanted
        and (certificate.valid_until is None or certificate.valid_until >= today)
    ]
    newest: dict[str, Certificate] = {}
    for certificate in sorted(certificates, key=lambda c: (c.issued_on, c.pk), reverse=True):
        newest.setdefault(certificate.certificate_type.code, certificate)
    return newest


def signing_key_published(kid: str) -> SigningKey | None:
    """An unexpired signing key (one the trust list carries) by its hex kid."""
    return SigningKey.objects.filter(kid=kid.lower(), not_after__gt=timezone.now()).first()


def authorisations_of_certificate(certificate: Certificate) -> QuerySet[CertificateAuthorisation]:
    return certificate.authorisations.select_related("department").order_by("-created_at")


def uses_of_certificate(certificate: Certificate) -> QuerySet[CertificateUse]:
    return certificate.uses.select_related("authorisation").order_by("-used_at")


def authorisations_for_departments(
    department_ids: Iterable[int],
) -> QuerySet[CertificateAuthorisation]:
    """Certificates shared with these departments and still readable."""
    return (
        CertificateAuthorisation.objects.filter(
            department_id__in=list(department_ids),
            revoked_at__isnull=True,
            valid_until__gte=timezone.localdate(),
            certificate__status=Certificate.Status.VALID,
        )
        .select_related("certificate__certificate_type", "department")
        .order_by("-created_at")
    )


def certificate_type_get(code: str) -> CertificateType | None:
    return CertificateType.objects.filter(code=code).first()


def certificate_states(identifiers: Iterable[str]) -> dict[str, str]:
    """identifier → "valid", "expired" or "revoked" (absent: no such certificate)."""
    today = timezone.localdate()
    states: dict[str, str] = {}
    for identifier, status, valid_until in Certificate.objects.filter(
        identifier__in=list(identifiers)
    ).values_list("identifier", "status", "valid_until"):
        if status == Certificate.Status.REVOKED:
            states[identifier] = "revoked"
        elif valid_until is not None and valid_until < today:
            states[identifier] = "expired"
        else:
            states[identifier] = "valid"
    return states


def certificate_issued_for(source: str) -> Certificate | None:
    """The valid certificate issued from a source (``application:<number>``), if any."""
    return (
        Certificate.objects.filter(source=source, status=Certificate.Status.VALID)
        .order_by("-pk")
        .first()
    )
