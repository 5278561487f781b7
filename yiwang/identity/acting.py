"""Whom a person acts for in this session (办事身份): herself, or an organisation she
represents or holds a current agency of.

The choice is kept in the session and checked against what she may act for on every
request, so a revoked or expired agency (or a new legal representative) takes effect at
once: a choice that no longer holds is dropped and she acts for herself again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.utils.translation import gettext as _

from yiwang.core.errors import PermissionDenied
from yiwang.identity.models import Organisation, User
from yiwang.identity.selectors import ActingChoice, acting_choices_for

SESSION_KEY = "yiwang_acting_organisation"
# Where the identity of the current request is kept once worked out.
_REQUEST_ATTRIBUTE = "_yiwang_acting"


@dataclass(frozen=True)
class ActingIdentity:
    """The identity a request acts under, and the organisations she could switch to."""

    choice: ActingChoice | None  # None: she acts for herself
    choices: tuple[ActingChoice, ...] = field(default=())

    @property
    def is_personal(self) -> bool:
        return self.choice is None

    @property
    def organisation(self) -> Organisation | None:
        return self.choice.organisation if self.choice is not None else None

    @property
    def role(self) -> str:
        return self.choice.role if self.choice is not None else ""


def _choose(choices: list[ActingChoice], organisation_id: object) -> ActingChoice | None:
    return next((c for c in choices if c.organisation.pk == organisation_id), None)


def acting_identity(request: HttpRequest) -> ActingIdentity:
    """The identity the request acts under: the organisation chosen in the session if she
    may still act for it, else herself (a choice that no longer holds is dropped)."""
    cached = getattr(request, _REQUEST_ATTRIBUTE, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ActingIdentity(choice=None)
    choices = acting_choices_for(user)
    session = getattr(request, "session", None)
    chosen = session.get(SESSION_KEY) if session is not None else None
    choice = _choose(choices, chosen) if chosen is not None else None
    if chosen is not None and choice is None and session is not None:
        del session[SESSION_KEY]
    identity = ActingIdentity(choice=choice, choices=tuple(choices))
    setattr(request, _REQUEST_ATTRIBUTE, identity)
    return identity


def acting_identity_switch(request: HttpRequest, organisation_id: int | None) -> ActingIdentity:
    """Act for herself (None) or for an organisation she may act for now."""
    user: User = request.user  # type: ignore[assignment]
    choices = acting_choices_for(user)
    if organisation_id is None:
        request.session.pop(SESSION_KEY, None)
        identity = ActingIdentity(choice=None, choices=tuple(choices))
    else:
        choice = _choose(choices, organisation_id)
        if choice is None:
            raise PermissionDenied(
                _("You may not act for this organisation."), code="not_acting_for_organisation"
            )
        request.session[SESSION_KEY] = choice.organisation.pk
        identity = ActingIdentity(choice=choice, choices=tuple(choices))
    setattr(request, _REQUEST_ATTRIBUTE, identity)
    return identity
