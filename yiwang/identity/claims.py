"""Single sign-on: the scopes an application may ask for and the claims each releases.

Data minimisation: an application receives the claims of a scope only when its policy
(``ClientPolicy``) allows the scope and the person consented to it. The ID token says
only who (``sub``, pairwise: each application knows a person by its own identifier) and
how sure (``acr``, the real-name level); every other claim comes from userinfo, because
ID tokens travel in URLs (``id_token_hint`` at logout) and end up in logs.

No django-oauth-toolkit imports here: models and the admin use these tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from yiwang.identity.models import AssuranceLevel, User

SCOPES: dict[str, Promise] = {
    "openid": _("Sign you in: an identifier for you used by this application only"),
    "profile": _("Your name (for verified accounts)"),
    "phone": _("Your mobile number"),
    "identity": _("Your resident ID number and real-name level"),
    "organisation": _("The organisations you represent or act for as an agent"),
}

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub", "acr"),
    "profile": ("name",),
    "phone": ("phone_number", "phone_number_verified"),
    "identity": ("id_number", "assurance_level"),
    "organisation": ("organisations",),
}

CLAIM_SCOPE: dict[str, str] = {
    claim: scope for scope, claims in SCOPE_CLAIMS.items() for claim in claims
}

# The acr values: the real-name level the person had when the token was issued.
ACR_VALUES: list[str] = [level.name for level in AssuranceLevel]


def acr_value(level: int) -> str:
    return AssuranceLevel(level).name


def scopes_ordered(scopes: Iterable[str]) -> list[str]:
    """Known scopes in the order of ``SCOPES``; unknown ones are dropped."""
    wanted = set(scopes)
    return [scope for scope in SCOPES if scope in wanted]


def _organisations(user: User) -> list[dict[str, str]]:
    from yiwang.identity.selectors import agencies_for_user, organisations_represented_by

    represented = [
        {"uscc": o.uscc, "name": o.name, "role": "legal_representative"}
        for o in organisations_represented_by(user)
    ]
    agencies = [
        {
            "uscc": a.organisation.uscc,
            "name": a.organisation.name,
            "role": "agent",
            "valid_until": a.valid_until.isoformat(),
        }
        for a in agencies_for_user(user)
    ]
    return represented + agencies


# Each claim except ``sub`` (which depends on the application), from the account.
# None means the account has no value for it: the claim is left out.
CLAIM_VALUES: dict[str, Callable[[User], Any]] = {
    "acr": lambda user: acr_value(user.assurance_level),
    "name": lambda user: user.name or None,
    "phone_number": lambda user: f"+86{user.phone}",
    "phone_number_verified": lambda user: True,  # proved by an SMS code at registration
    "id_number": lambda user: user.id_number or None,
    "assurance_level": lambda user: acr_value(user.assurance_level),
    "organisations": _organisations,
}


def consent_rows(user: User, scopes: Iterable[str]) -> list[tuple[Promise, str]]:
    """What the consent screen shows: each piece of data released, with the person's value.

    Values are masked as elsewhere on the platform; the application receives them in full.
    """
    scopes = set(scopes)
    rows: list[tuple[Promise, str]] = []
    if "openid" in scopes:
        rows.append((_("Account identifier"), str(_("only for this application"))))
    if "openid" in scopes or "identity" in scopes:
        rows.append((_("Real-name level"), str(user.get_assurance_level_display())))
    if "profile" in scopes:
        rows.append((_("Name"), user.name or "—"))
    if "phone" in scopes:
        rows.append((_("Mobile number"), user.masked_phone))
    if "identity" in scopes:
        rows.append((_("Resident ID number"), user.masked_id_number if user.id_number else "—"))
    if "organisation" in scopes:
        names = [o["name"] for o in _organisations(user)]
        rows.append((_("Organisations"), "、".join(names) if names else "—"))
    return rows
