"""The public verification page: anyone checks a certificate's QR code, no login needed.

Three ways in, one form: the code's text pasted (or filled in by the page's camera script),
or a photo of the code. The form turns either into the code's text; the view asks the
platform's verifier and shows what it says. Input that is not a code's text or a readable
photo is a field error (422); a code that does not verify is a result (200).
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from yiwang.certificates import labels, selectors, signedqr
from yiwang.certificates.qrimage import QrImageError, qr_image_decode
from yiwang.certificates.verification import Result, RevocationStatus, platform_verifier
from yiwang.core import ratelimit
from yiwang.core.errors import RateLimited
from yiwang.core.forms import Form

MAX_TEXT_CHARS = signedqr.MAX_TEXT_LENGTH
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# Checks one address may ask for a minute, as for the verification API without an account.
CHECKS_PER_MINUTE = 60
# What PNG and JPEG files start with; anything else is refused before a parser sees it.
_IMAGE_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff")
# Characters a scanner or a paste may add around a code's text.
_ALLOWED_CONTROLS = frozenset("\t\n\r")

# What each verdict means, for the person holding the phone.
VERDICT_MESSAGES: Mapping[signedqr.Verdict, Promise] = {
    signedqr.Verdict.NOT_A_QR: _(
        "There is no code text to check, or the text is far too long to be a QR code."
    ),
    signedqr.Verdict.WRONG_PREFIX: _(
        "This is not an electronic certificate code. It may be another kind of QR code, "
        "such as a payment code or a web link."
    ),
    signedqr.Verdict.BAD_BASE45: _(
        "The code is damaged or incomplete: it holds characters a certificate code cannot "
        "have. Scan it again."
    ),
    signedqr.Verdict.BAD_COMPRESSION: _(
        "The code is damaged or incomplete: its content cannot be unpacked. Scan it again."
    ),
    signedqr.Verdict.BAD_CBOR: _(
        "The code's content is damaged or not in the format of a certificate code."
    ),
    signedqr.Verdict.UNKNOWN_KEY: _(
        "The code was signed with a key this platform does not know. It may be forged, or "
        "come from a region whose certificates are not accepted here."
    ),
    signedqr.Verdict.BAD_SIGNATURE: _(
        "The signature does not match the content: the code has been altered or forged."
    ),
    signedqr.Verdict.EXPIRED: _(
        "The code is outside its validity period: it has expired or is not valid yet. Ask the "
        "holder to open the certificate again and show a new code."
    ),
    signedqr.Verdict.REVOKED: _(
        "The issuing department has revoked this certificate. It is no longer valid."
    ),
    signedqr.Verdict.KEY_NOT_ALLOWED: _(
        "The signing key is not allowed to sign this type of certificate. Treat the code as forged."
    ),
}
VALID_MESSAGE = _("The certificate is valid: it was signed by the issuing department.")

REVOCATION_MESSAGES: Mapping[str, Promise] = {
    RevocationStatus.CHECKED: _("Checked: the certificate is not on its issuer's revocation list."),
    RevocationStatus.STALE: _(
        "The revocation list held here is out of date: the certificate was not on it, but a "
        "later revocation may not be known yet."
    ),
    RevocationStatus.MISSING: _("Not checked: there is no revocation list for the signing key."),
    RevocationStatus.NOT_APPLICABLE: _(
        "Not checked: certificates of this kind are not revoked through this platform."
    ),
}


def verdict_message(verdict: signedqr.Verdict | None) -> str:
    return str(VALID_MESSAGE if verdict is None else VERDICT_MESSAGES[verdict])


def revocation_message(status: str) -> str:
    return str(REVOCATION_MESSAGES.get(status, status))


# The EU DCC's certificate kinds and the fields of its entries (DCC JSON schema 1.3).
DCC_KINDS: Mapping[str, Promise] = {
    signedqr.DCC_VACCINATION: _("EU Digital COVID Certificate: vaccination"),
    signedqr.DCC_TEST: _("EU Digital COVID Certificate: test"),
    signedqr.DCC_RECOVERY: _("EU Digital COVID Certificate: recovery"),
}
DCC_FIELD_LABELS: Mapping[str, Promise] = {
    "tg": _("Disease or agent targeted"),
    "vp": _("Vaccine or prophylaxis"),
    "mp": _("Vaccine product"),
    "ma": _("Manufacturer"),
    "dn": _("Dose number"),
    "sd": _("Total doses"),
    "dt": _("Date"),
    "tt": _("Type of test"),
    "nm": _("Test name"),
    "sc": _("Sample collected at"),
    "tr": _("Test result"),
    "tc": _("Testing centre"),
    "fr": _("First positive test on"),
    "df": _("Valid from"),
    "du": _("Valid until"),
    "co": _("Country"),
    "is": _("Issuer"),
    "ci": _("Certificate identifier"),
}
_HOLDER_KINDS: Mapping[str, Promise] = {
    "person": _("Natural person"),
    "organisation": _("Legal person"),
}


# ---------------------------------------------------------------------------------------
# The form


class VerifyForm(Form):
    """The code's text, or a photo of the code (the photo wins when both are sent)."""

    text = forms.CharField(
        label=_("Text of the QR code"),
        required=False,
        widget=forms.Textarea(
            attrs={
                "rows": 4,
                "autocomplete": "off",
                "autocapitalize": "off",
                "spellcheck": "false",
            }
        ),
        help_text=_("Paste the text a QR scanner app read from the code, e.g. YW1:…"),
    )
    image = forms.FileField(
        label=_("Or a photo of the QR code"),
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg"}),
        help_text=_("PNG or JPEG, at most 5 MB. The whole code must be in the picture."),
    )

    def clean_text(self) -> str:
        text: str = self.cleaned_data["text"]
        if len(text) > MAX_TEXT_CHARS:
            raise forms.ValidationError(
                _(
                    "This text is longer than any QR code can hold (at most %(max)d "
                    "characters). Paste only the text of the code."
                )
                % {"max": MAX_TEXT_CHARS}
            )
        if any(_unreadable(character) for character in text):
            raise forms.ValidationError(
                _(
                    "This text holds characters that are not part of a certificate code. "
                    "Paste only the text of the code, or upload a photo of it."
                )
            )
        return text

    def clean_image(self) -> str:
        """The text of the code in the photo ("" without a photo)."""
        upload = self.cleaned_data["image"]
        if not upload:
            return ""
        if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError(
                _("The photo is larger than 5 MB. Take a photo of just the code.")
            )
        data = upload.read(MAX_IMAGE_BYTES + 1)
        if len(data) > MAX_IMAGE_BYTES:
            raise forms.ValidationError(
                _("The photo is larger than 5 MB. Take a photo of just the code.")
            )
        if not data.startswith(_IMAGE_SIGNATURES):
            raise forms.ValidationError(_("Choose a PNG or JPEG picture."))
        try:
            return qr_image_decode(data)
        except QrImageError:
            raise forms.ValidationError(
                _(
                    "No QR code could be read in this picture. Take a sharp photo from "
                    "closer, with the whole code in view."
                )
            ) from None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not cleaned.get("image") and not cleaned.get("text"):
            self.add_error("text", _("Paste the text of a QR code, or choose a photo of the code."))
        return cleaned

    def code_text(self) -> str:
        """The text to verify, once the form is valid."""
        return str(self.cleaned_data["image"] or self.cleaned_data["text"])


def _unreadable(character: str) -> bool:
    """Control, unassigned and private-use characters, surrogates, and U+FFFD (what an
    undecodable byte becomes): none is in a code's text, all are in binary pasted as text."""
    if character in _ALLOWED_CONTROLS:
        return False
    return character == "\ufffd" or unicodedata.category(character) in ("Cc", "Cs", "Co", "Cn")


# ---------------------------------------------------------------------------------------
# What the page shows of a result


@dataclass(frozen=True)
class CertificateShown:
    """A verified code's certificate data, as the page lists it."""

    type_name: str
    type_code: str = ""
    identifier: str = ""
    number: str = ""
    holder_name: str = ""
    holder_kind: str = ""
    holder_id: str = ""
    holder_id_label: str = ""
    issuer_name: str = ""
    issuer_code: str = ""
    issued_on: str = ""
    valid_until: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    valid: bool
    verdict: str
    message: str
    detail: str  # the verifier's own words: which check failed, for the technically minded
    revocation: str = RevocationStatus.NOT_APPLICABLE
    revocation_message: str = ""
    signer: str = ""
    code_expires_at: datetime.datetime | None = None
    certificate: CertificateShown | None = None


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):
        return "; ".join(_text(item) for item in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{key}: {_text(item)}" for key, item in value.items())
    return str(value)


def _mapping(value: object) -> Mapping[Any, Any]:
    return value if isinstance(value, Mapping) else {}


def _platform_certificate(payload: Mapping[str, Any]) -> CertificateShown:
    holder = _mapping(payload.get("h"))
    issuer = _mapping(payload.get("is"))
    data = _mapping(payload.get("d"))
    type_code = _text(payload.get("t"))
    # The type's own field order when this platform knows the type (another region's may
    # not be known here). The code's data is shown as signed: it is masked already.
    known = selectors.certificate_type_get(type_code) if type_code else None
    rows = labels.data_rows(
        {str(name): _text(value) for name, value in data.items()},
        known.fields if known else (),
        masked=False,
    )
    kind = _text(holder.get("k"))
    return CertificateShown(
        type_name=_text(payload.get("tn")) or type_code,
        type_code=type_code,
        identifier=_text(payload.get("id")),
        number=_text(payload.get("no")),
        holder_name=_text(holder.get("n")),
        holder_kind=str(_HOLDER_KINDS.get(kind, kind)),
        holder_id=_text(holder.get("i")),
        holder_id_label=labels.HOLDER_IDENTIFIER_LABELS.get(kind, ""),
        issuer_name=_text(issuer.get("n")),
        issuer_code=_text(issuer.get("c")),
        issued_on=_text(payload.get("iss")),
        valid_until=_text(payload.get("vu")),
        fields=[(row.label, row.value) for row in rows],
    )


def _dcc_certificate(payload: Mapping[str, Any], kind: str) -> CertificateShown:
    names = _mapping(payload.get("nam"))
    given = _text(names.get("gn") or names.get("gnt"))
    family = _text(names.get("fn") or names.get("fnt"))
    entries = payload.get(kind)
    entry = _mapping(entries[0] if isinstance(entries, list) and entries else None)
    fields = [(str(_("Date of birth")), _text(payload.get("dob")))]
    fields += [
        (str(label), _text(entry[key])) for key, label in DCC_FIELD_LABELS.items() if key in entry
    ]
    return CertificateShown(
        type_name=str(DCC_KINDS[kind]),
        identifier=_text(entry.get("ci")),
        holder_name=" ".join(part for part in (given, family) if part),
        issuer_name=_text(entry.get("is")),
        issued_on=_text(entry.get("dt") or entry.get("sc") or entry.get("fr")),
        valid_until=_text(entry.get("du")),
        fields=fields,
    )


def certificate_shown(payload: Mapping[str, Any]) -> CertificateShown:
    """The platform's certificate data (``t``, ``id``, ``h`` …) or an EU DCC's."""
    if "t" not in payload or "id" not in payload:
        kind = signedqr.dcc_type(payload)
        if kind is not None:
            return _dcc_certificate(payload, kind)
    return _platform_certificate(payload)


def outcome_of(result: Result) -> Outcome:
    verified = result.verified
    if result.verdict is not None or verified is None:
        return Outcome(
            valid=False,
            verdict=str(result.verdict or ""),
            message=verdict_message(result.verdict),
            detail=result.message,
        )
    return Outcome(
        valid=True,
        verdict="",
        message=verdict_message(None),
        detail="",
        revocation=result.revocation,
        revocation_message=revocation_message(result.revocation),
        signer=verified.signer.label,
        code_expires_at=verified.expires_at,
        certificate=certificate_shown(verified.payload),
    )


# ---------------------------------------------------------------------------------------
# The page


def _page(
    request: HttpRequest,
    form: VerifyForm,
    *,
    outcome: Outcome | None = None,
    page_errors: tuple[str, ...] = (),
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "certificates/verify.html",
        {
            "form": form,
            "outcome": outcome,
            "page_errors": page_errors,
            "revocation_warning": outcome is not None
            and outcome.valid
            and outcome.revocation in (RevocationStatus.STALE, RevocationStatus.MISSING),
        },
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request, VerifyForm())
    key = ratelimit.client_key("certificates-verify", request)
    if ratelimit.window_count_add(key, 60) > CHECKS_PER_MINUTE:
        refused = RateLimited(retry_after=60)
        # Refused before the form: a flood of photos costs no image decoding.
        response = _page(
            request, VerifyForm(), page_errors=(str(refused.message),), status=refused.status
        )
        response["Retry-After"] = str(refused.retry_after)
        return response
    form = VerifyForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, form, status=422)
    text = form.code_text()
    result = platform_verifier().verify(text)
    # The form comes back holding the text that was checked, also when it came from a photo.
    return _page(request, VerifyForm(initial={"text": text}), outcome=outcome_of(result))
