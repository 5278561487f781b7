from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from yiwang.core.masking import mask_id_number, mask_ip_address, mask_name, mask_phone


class AssuranceLevel(models.IntegerChoices):
    """Real-name levels of assurance."""

    L1 = 1, _("L1 registered")
    L2 = 2, _("L2 verified against the population registry")
    L3 = 3, _("L3 verified in person")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, phone: str, password: str | None = None, **extra: object) -> User:
        if not phone:
            raise ValueError("phone is required")
        user = self.model(phone=phone, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, phone: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(phone, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """An account of a natural person: citizen, staff member or administrator.

    Logs in with a mainland mobile number. The real name and resident ID number are
    set only by real-name verification; one ID number belongs to at most one account.
    """

    phone = models.CharField(_("mobile number"), max_length=11, unique=True)
    name = models.CharField(_("name"), max_length=50, blank=True)
    email = models.EmailField(_("e-mail address"), blank=True)
    # NULL until verified: unique among verified accounts, absent for the others.
    id_number = models.CharField(  # noqa: DJ001
        _("resident ID number"), max_length=18, null=True, blank=True
    )
    assurance_level = models.PositiveSmallIntegerField(
        _("real-name level"), choices=AssuranceLevel.choices, default=AssuranceLevel.L1
    )
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    in_person_verified_at = models.DateTimeField(_("verified in person at"), null=True, blank=True)
    in_person_verified_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("verified in person by"),
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(
        _("platform administrator"),
        default=False,
        help_text=_("May log in to the administration site."),
    )
    date_joined = models.DateTimeField(_("registered at"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "phone"
    REQUIRED_FIELDS = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                fields=["id_number"],
                condition=Q(id_number__isnull=False),
                name="identity_user_unique_id_number",
            ),
            models.CheckConstraint(
                condition=Q(assurance_level=AssuranceLevel.L1) | Q(id_number__isnull=False),
                name="identity_user_verified_has_id_number",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return mask_name(self.name) if self.name else mask_phone(self.phone)

    @property
    def masked_id_number(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)

    # Not ``is_verified``: django-otp sets that name on the request's user for the second
    # factor.
    @property
    def is_real_name_verified(self) -> bool:
        return self.assurance_level >= AssuranceLevel.L2


class SmsCode(models.Model):
    """A one-time code sent by SMS to prove control of a mobile number."""

    class Purpose(models.TextChoices):
        REGISTER = "register", _("Registration")
        RESET_PASSWORD = "reset_password", _("Password reset")

    phone = models.CharField(_("mobile number"), max_length=11)
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS code")
        verbose_name_plural = _("SMS codes")
        indexes = [models.Index(fields=["phone", "purpose", "-created_at"])]

    def __str__(self) -> str:
        return f"{mask_phone(self.phone)} {self.purpose}"


class Department(models.Model):
    """A government department of a region (公安, 卫健, 民政 …)."""

    class Kind(models.TextChoices):
        PUBLIC_SECURITY = "public_security", _("Public security")
        HEALTH = "health", _("Health")
        CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")
        HUMAN_RESOURCES = "human_resources", _("Human resources and social security")
        MEDICAL_SECURITY = "medical_security", _("Medical security")
        MARKET_REGULATION = "market_regulation", _("Market regulation")
        TAXATION = "taxation", _("Taxation")
        HOUSING_FUND = "housing_fund", _("Housing provident fund")
        GOVERNMENT_SERVICES = "government_services", _("Government services administration")
        NATURAL_RESOURCES = "natural_resources", _("Natural resources")
        EDUCATION = "education", _("Education")
        DATA_RESOURCES = "data_resources", _("Data resources administration")
        TRANSPORT = "transport", _("Transport")

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=32, choices=Kind.choices)
    region = models.ForeignKey(
        "core.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region")
    )
    uscc = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        constraints = [
            models.UniqueConstraint(
                fields=["uscc"], condition=~Q(uscc=""), name="identity_department_unique_uscc"
            )
        ]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.Model):
    """A role a staff member holds in one department (and so in its region)."""

    class Role(models.TextChoices):
        CLERK = "clerk", _("Window clerk")
        REVIEWER = "reviewer", _("Reviewer")
        APPROVER = "approver", _("Approver")
        DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
        DATA_OFFICER = "data_officer", _("Data officer")

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="staff_roles", verbose_name=_("staff member")
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="staff_roles",
        verbose_name=_("department"),
    )
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "department", "role"], name="identity_staffrole_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.department} · {self.get_role_display()}"


class Organisation(models.Model):
    """A legal person (enterprise, institution, individual business) with an account.

    Controlled by its legal representative, a verified natural person, as matched
    against the legal-person registry.
    """

    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    name = models.CharField(_("name"), max_length=200)
    legal_representative = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        related_name="represented_organisations",
        verbose_name=_("legal representative"),
    )
    region_code = models.CharField(_("registered region"), max_length=12, blank=True)
    verified_at = models.DateTimeField(_("verified at"), default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organisation")
        verbose_name_plural = _("organisations")

    def __str__(self) -> str:
        return self.name


class ActingRole(models.TextChoices):
    """How a person acts for an organisation: as its legal representative or as an agent."""

    LEGAL_REPRESENTATIVE = "legal_representative", _("legal representative")
    AGENT = "agent", _("agent")


class OrganisationAgent(models.Model):
    """An agent (经办人) the legal representative has authorised to act for the organisation."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.CASCADE,
        related_name="agents",
        verbose_name=_("organisation"),
    )
    agent = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="agencies", verbose_name=_("agent")
    )
    # Service item codes the agent may apply for; empty means every service.
    services = models.JSONField(_("services"), default=list, blank=True)
    valid_until = models.DateField(_("valid until"))
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("authorised agent")
        verbose_name_plural = _("authorised agents")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "agent"],
                condition=Q(revoked_at__isnull=True),
                name="identity_orgagent_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.agent} → {self.organisation}"

    def is_active_on(self, day: object) -> bool:
        return self.revoked_at is None and self.valid_until >= day  # type: ignore[operator]


class ApiToken(models.Model):
    """A personal bearer token for the JSON API; only its hash is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Created from a session that had passed the second factor: only such tokens work for
    # staff (a token made as a citizen does not carry over when the person becomes staff).
    second_factor = models.BooleanField(_("created after the second factor"), default=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class RealNameAttempt(models.Model):
    """One real-name verification attempt: the outcome, never the ID number tried."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="real_name_attempts")
    succeeded = models.BooleanField()
    reason = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("real-name verification attempt")
        verbose_name_plural = _("real-name verification attempts")

    def __str__(self) -> str:
        return f"{self.user_id} {self.reason}"


# ---------------------------------------------------------------------------------------
# Single sign-on (OpenID Connect provider). The clients are django-oauth-toolkit's own
# Application model (not swapped); what the platform adds sits beside it here.


class ClientPolicy(models.Model):
    """What a department application registered for single sign-on may ask for.

    One-to-one with the client (``oauth2_provider.Application``: client id, secret,
    redirect URIs): the department that runs it, the scopes it may request beyond
    ``openid``, and the lowest real-name level of the people it lets in.
    """

    application = models.OneToOneField(
        "oauth2_provider.Application",
        on_delete=models.CASCADE,
        related_name="yiwang_policy",
        verbose_name=_("client application"),
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="client_policies",
        verbose_name=_("department"),
    )
    allowed_scopes = models.JSONField(
        _("allowed scopes"),
        default=list,
        blank=True,
        help_text=_("Scopes the application may request; openid is always allowed."),
    )
    min_assurance_level = models.PositiveSmallIntegerField(
        _("minimum real-name level"),
        choices=AssuranceLevel.choices,
        default=AssuranceLevel.L1,
        help_text=_(
            "People below this level are sent to real-name verification (L2) or told to "
            "verify in person (L3) before they can sign in."
        ),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("single sign-on policy")
        verbose_name_plural = _("single sign-on policies")

    def __str__(self) -> str:
        return f"{self.application} · {self.department}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from yiwang.identity.claims import SCOPES

        unknown = sorted(set(self.allowed_scopes or []) - set(SCOPES))
        if unknown:
            raise ValidationError(
                {"allowed_scopes": _("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(unknown)}}
            )

    @property
    def scopes(self) -> list[str]:
        """The scopes the application may request, ``openid`` first."""
        from yiwang.identity.claims import scopes_ordered

        return scopes_ordered(["openid", *(self.allowed_scopes or [])])


class ClientConsent(models.Model):
    """A person's consent that an application receives the claims of some scopes.

    While it is active (not revoked) and covers what the application asks for, signing
    in again skips the consent screen. Revoking it also revokes the application's tokens.
    """

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="client_consents", verbose_name=_("person")
    )
    application = models.ForeignKey(
        "oauth2_provider.Application",
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("client application"),
    )
    scopes = models.JSONField(_("scopes"), default=list)
    granted_at = models.DateTimeField(_("granted at"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("sign-in consent")
        verbose_name_plural = _("sign-in consents")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"],
                condition=Q(revoked_at__isnull=True),
                name="identity_clientconsent_one_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}"


class ClientSubject(models.Model):
    """The pairwise subject identifier (``sub``) one application knows a person by.

    Random, so it reveals nothing (not the account id, not the phone), and different for
    each application, so two applications cannot match their users by it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="+"
    )
    subject = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("pairwise subject identifier")
        verbose_name_plural = _("pairwise subject identifiers")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "application"], name="identity_clientsubject_unique"
            )
        ]

    def __str__(self) -> str:
        return self.subject


class AuthorizationCodeUse(models.Model):
    """An authorisation code already exchanged for tokens (only its SHA-256 is kept).

    A second exchange of the same code is refused, and the tokens of the first are
    revoked (RFC 6749 section 4.1.2): someone else held the code.
    """

    code_digest = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(
        "oauth2_provider.Application", on_delete=models.CASCADE, related_name="+"
    )
    token_family = models.UUIDField(null=True, blank=True)
    access_token_checksum = models.CharField(max_length=64, blank=True)
    used_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("used authorisation code")
        verbose_name_plural = _("used authorisation codes")

    def __str__(self) -> str:
        return f"{self.code_digest[:12]}…"


# ---------------------------------------------------------------------------------------
# Account security: login history


class LoginEvent(models.Model):
    """One login, failed login, second-factor check, lockout or logout of an account.

    Shown to the account's owner under 我的 → 账号安全. Holds the client address and a
    short summary of the browser, never the submitted password or phone number.
    """

    class Kind(models.TextChoices):
        LOGIN_SUCCEEDED = "login_succeeded", _("Logged in")
        LOGIN_FAILED = "login_failed", _("Wrong password")
        LOCKED_OUT = "locked_out", _("Refused: locked after too many failures")
        MFA_SUCCEEDED = "mfa_succeeded", _("Authenticator code accepted")
        MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used", _("Recovery code used")
        MFA_FAILED = "mfa_failed", _("Wrong authenticator or recovery code")
        MFA_THROTTLED = "mfa_throttled", _("Refused: too many wrong codes, had to wait")
        LOGOUT = "logout", _("Logged out")
        SESSION_EXPIRED = "session_expired", _("Logged out at the session time limit")

    FAILURES = (Kind.LOGIN_FAILED, Kind.LOCKED_OUT, Kind.MFA_FAILED, Kind.MFA_THROTTLED)

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="login_events", verbose_name=_("account")
    )
    kind = models.CharField(_("event"), max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    client_address = models.GenericIPAddressField(_("client address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("login event")
        verbose_name_plural = _("login history")
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def is_failure(self) -> bool:
        return self.kind in self.FAILURES

    @property
    def masked_client_address(self) -> str:
        return mask_ip_address(self.client_address)
