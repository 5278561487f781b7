"""Yiwang settings: every value comes from the environment, read here and nowhere else.

Defaults are safe for the demo (SQLite under ``var/``, local SMS outbox, plain HTTP on
loopback). Production sets ``YIWANG_HTTPS=1``, ``SECRET_KEY``, ``ALLOWED_HOSTS`` and
``DATABASE_URL``; see docs/operations.md.
"""

from __future__ import annotations

import os
import secrets
import warnings
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# Where the demo keeps its SQLite database, uploaded files and generated secret key.
DATA_DIR = Path(env_str("YIWANG_DATA_DIR", str(BASE_DIR / "var")))

# Served over HTTPS behind a TLS-terminating proxy: secure cookies, HSTS, redirects.
HTTPS = env_bool("YIWANG_HTTPS", default=False)
DEBUG = env_bool("DEBUG", default=False)


def _secret_key() -> str:
    key = env_str("SECRET_KEY")
    if key:
        return key
    if HTTPS:
        raise ImproperlyConfigured("SECRET_KEY must be set when YIWANG_HTTPS is on (production)")
    # Demo: a random key generated once and kept in the data directory.
    path = DATA_DIR / "secret_key"
    if path.exists():
        return path.read_text().strip()
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(50)
    path.write_text(key)
    path.chmod(0o600)
    return key


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "axes",
    "oauth2_provider",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "yiwang.core",
    "yiwang.identity",
    "yiwang.exchange",
    "yiwang.catalog",
    "yiwang.certificates",
    "yiwang.applications",
    "yiwang.health",
    "yiwang.portal",
    "yiwang.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "yiwang.identity.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages: both may log out or redirect with a message.
    "yiwang.identity.middleware.SessionAbsoluteTimeoutMiddleware",
    "yiwang.identity.middleware.StaffSecondFactorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "yiwang.portal.context_processors.platform",
                "yiwang.applications.context_processors.inbox",
                "yiwang.identity.context_processors.acting",
            ],
        },
    },
]

# Database: SQLite in WAL mode unless DATABASE_URL points at PostgreSQL.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    # Server-side parameter binding, and a statement run DATABASE_PREPARE_THRESHOLD times
    # on a connection is prepared: PostgreSQL then plans it once per connection instead of
    # on every run. "off" prepares nothing (PgBouncer before 1.21 in transaction mode).
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True,
            prepare_threshold=(
                None
                if env_str("DATABASE_PREPARE_THRESHOLD").strip().lower() == "off"
                else env_int("DATABASE_PREPARE_THRESHOLD", 5)
            ),
        )
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "db.sqlite3"),
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA foreign_keys=ON;"
                ),
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "identity.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    # Accounts have no username or first/last name: compare with what they do have.
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("phone", "name", "email")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "identity:login"
LOGIN_REDIRECT_URL = "portal:me"
LOGOUT_REDIRECT_URL = "portal:home"

# Sessions: an idle timeout (renewed on each request) inside an absolute cap, counted
# from the password step (yiwang.identity.middleware.SessionAbsoluteTimeoutMiddleware).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 3600)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Staff log in with a second factor (django-otp): an authenticator app's codes, or a
# single-use recovery code. After each wrong code the device refuses codes for
# factor × 2^(failures − 1) seconds.
OTP_TOTP_THROTTLE_FACTOR = env_int("MFA_THROTTLE_FACTOR", 1)
OTP_STATIC_THROTTLE_FACTOR = env_int("MFA_THROTTLE_FACTOR", 1)

# Lockout after repeated login failures (django-axes).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 15))
# Lock an account after repeated failures, and a client address that tries many accounts.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
# Reverse proxies in front of the platform that append the client address to
# X-Forwarded-For (nginx: proxy_add_x_forwarded_for). 0 = clients connect directly.
PROXY_COUNT = env_int("PROXY_COUNT", 0)
# The client address is the one the nearest trusted proxy appended (right-most), never
# a value the client put in the header itself.
AXES_IPWARE_PROXY_COUNT = PROXY_COUNT or None
AXES_IPWARE_PROXY_ORDER = "right-most"
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if PROXY_COUNT else ("REMOTE_ADDR",)
)
NINJA_NUM_PROXIES = PROXY_COUNT
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "identity/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Failed-login records keep the user agent but never the submitted credentials.
AXES_SENSITIVE_PARAMETERS = ["password", "username", "phone"]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
# Production serves hashed, compressed files gathered by collectstatic; the demo serves
# them straight from the apps.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", default=HTTPS)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# The demo serves static files straight from the apps, without collectstatic.
WHITENOISE_USE_FINDERS = env_bool("WHITENOISE_USE_FINDERS", default=not HTTPS)
WHITENOISE_AUTOREFRESH = DEBUG
# Without collectstatic (the demo) STATIC_ROOT does not exist; files come from the finders.
warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "yiwang_cache",
        # Rate-limit histories are one entry per client: keep far more than the default 300.
        "OPTIONS": {"MAX_ENTRIES": env_int("CACHE_MAX_ENTRIES", 100_000)},
    }
}

TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Outside systems, each behind a plugin interface (dotted path to the implementation).
SMS_BACKEND = env_str("SMS_BACKEND", "yiwang.core.sms.OutboxSmsBackend")
# Show the local SMS outbox at /dev/sms/ (demo only; never with a real gateway).
SMS_OUTBOX_VISIBLE = env_bool("SMS_OUTBOX_VISIBLE", default=not HTTPS)
SMS_CODE_TTL_SECONDS = env_int("SMS_CODE_TTL_SECONDS", 300)
SMS_CODE_RESEND_SECONDS = env_int("SMS_CODE_RESEND_SECONDS", 60)
SMS_CODE_MAX_ATTEMPTS = env_int("SMS_CODE_MAX_ATTEMPTS", 5)
SMS_CODES_PER_PHONE_PER_DAY = env_int("SMS_CODES_PER_PHONE_PER_DAY", 10)
REAL_NAME_FAILURES_PER_DAY = env_int("REAL_NAME_FAILURES_PER_DAY", 5)
POPULATION_REGISTRY = env_str(
    "POPULATION_REGISTRY", "yiwang.exchange.registries.ExchangePopulationRegistry"
)
LEGAL_PERSON_REGISTRY = env_str(
    "LEGAL_PERSON_REGISTRY", "yiwang.exchange.registries.ExchangeLegalPersonRegistry"
)

# Data exchange (the /r1/ gateway). Department providers served over HTTP, as
# "330100-GA=https://ga.example/api,330100-WJ=…"; every other provider is local.
EXCHANGE_PROVIDER_URLS = dict(
    item.split("=", 1) for item in env_list("EXCHANGE_PROVIDER_URLS", []) if "=" in item
)
EXCHANGE_PROVIDER_TIMEOUT = float(env_str("EXCHANGE_PROVIDER_TIMEOUT", "5"))
EXCHANGE_PROVIDER_MAX_BYTES = env_int("EXCHANGE_PROVIDER_MAX_BYTES", 1_000_000)
# The X-Road style instance name in service and client identifiers (INSTANCE/GOV/…).
EXCHANGE_INSTANCE = env_str("EXCHANGE_INSTANCE", "CN-ZJ")
# The department that runs the platform; its systems are the platform's own modules.
EXCHANGE_PLATFORM_DEPARTMENT = env_str("EXCHANGE_PLATFORM_DEPARTMENT", "330100-DSJ")
# E-certificates: the trust anchor's and the departments' private keys (one PEM file each),
# the prefix of the platform's signed QR codes, and how long a published trust list holds.
CERTIFICATES_KEY_DIR = Path(
    env_str("CERTIFICATES_KEY_DIR", str(DATA_DIR / "keys" / "certificates"))
)
CERTIFICATES_ANCHOR_NAME = env_str("CERTIFICATES_ANCHOR_NAME", "一网电子证照信任根")
CERTIFICATES_QR_PREFIX = env_str("CERTIFICATES_QR_PREFIX", "YW1:")
CERTIFICATES_TRUST_LIST_DAYS = env_int("CERTIFICATES_TRUST_LIST_DAYS", 7)
# A wallet QR code is signed when shown and valid this long (a screenshot soon goes stale);
# a printed PDF's code is valid as long as the certificate and the signing key.
CERTIFICATES_QR_MINUTES = env_int("CERTIFICATES_QR_MINUTES", 24 * 60)
# Other regions' platforms whose certificates this one accepts: a folder each, holding
# anchor.crt, trust-list.cose and revocation/*.cose (docs/operations.md).
CERTIFICATES_PEER_DIR = Path(
    env_str("CERTIFICATES_PEER_DIR", str(DATA_DIR / "certificates" / "peers"))
)
# A signed revocation list must be fetched again after this many hours.
CERTIFICATES_REVOCATION_LIST_HOURS = env_int("CERTIFICATES_REVOCATION_LIST_HOURS", 24)
# Ed25519 key that signs the exchange log's chain head (created on first use if missing).
EXCHANGE_LOG_KEY_FILE = Path(
    env_str("EXCHANGE_LOG_KEY_FILE", str(DATA_DIR / "keys" / "exchange-log.pem"))
)
# Sign the chain head after this many new records (and at every applications_tick).
EXCHANGE_LOG_CHECKPOINT_EVERY = env_int("EXCHANGE_LOG_CHECKPOINT_EVERY", 1000)
# Health codes (yiwang.health) collect sensitive personal data, so they are on only during
# a public-health emergency: off by default in production (YIWANG_HTTPS), on for the demo
# and tests. Switched off, `manage.py health_data_purge` deletes the module's personal data.
HEALTH_EMERGENCY_ENABLED = env_bool("HEALTH_EMERGENCY_ENABLED", default=not HTTPS)
# Where government facts about a person (cases, contacts, tests) come from.
HEALTH_FACT_PROVIDER = env_str("HEALTH_FACT_PROVIDER", "yiwang.health.facts.LocalFactProvider")
# Contact tracing (流调, yiwang.health.tracing): by default a trace looks at the case's
# check-ins and trips from this many days before the confirmed case or positive test; a
# check-in is taken to mean a stay of HEALTH_VISIT_MINUTES, and two stays at one venue
# closer than HEALTH_CONTACT_MARGIN_MINUTES still count as shared.
HEALTH_TRACE_DAYS_BEFORE = env_int("HEALTH_TRACE_DAYS_BEFORE", 4)
HEALTH_CONTACT_MARGIN_MINUTES = env_int("HEALTH_CONTACT_MARGIN_MINUTES", 30)
HEALTH_VISIT_MINUTES = env_int("HEALTH_VISIT_MINUTES", 60)
# Venue codes (场所码): venues are registered in the districts, counties and streets of this
# city (a 6-digit GB/T 2260 code); by default the city the platform's regions are loaded for.
HEALTH_VENUE_CITY = env_str("HEALTH_VENUE_CITY", env_str("YIWANG_DEMO_CITY", "330100"))
# A scanned check-in page's confirm button is valid this many seconds, then a new scan is needed.
HEALTH_CHECKIN_TOKEN_SECONDS = env_int("HEALTH_CHECKIN_TOKEN_SECONDS", 600)
# A second scan of the same venue by the same person within this many minutes is the first one.
HEALTH_CHECKIN_DEDUPE_MINUTES = env_int("HEALTH_CHECKIN_DEDUPE_MINUTES", 30)
# Check-ins are kept this many days (two incubation periods) for contact tracing, then
# `manage.py health_checkins_purge` (run it daily) deletes them.
HEALTH_CHECKIN_RETENTION_DAYS = env_int("HEALTH_CHECKIN_RETENTION_DAYS", 28)
# The prefix of the platform's signed health-code QR codes (yiwang.health.codes), distinct
# from the certificates' so that a scanner tells the two apart at once.
HEALTH_CODE_PREFIX = env_str("HEALTH_CODE_PREFIX", "YWH1:")
# Prefixes of other regions' health codes accepted besides ours ("SHH1:,JSH1:"); their keys
# come from the peers' trust lists under CERTIFICATES_PEER_DIR.
HEALTH_CODE_PEER_PREFIXES = env_list("HEALTH_CODE_PEER_PREFIXES", [])
# A health code is valid this many seconds after it is shown: a screenshot soon stops working.
HEALTH_CODE_SECONDS = env_int("HEALTH_CODE_SECONDS", 300)
# The department whose key signs health codes (its code); empty: the active health
# department of the highest region that has one (the city's 卫健委).
HEALTH_CODE_DEPARTMENT = env_str("HEALTH_CODE_DEPARTMENT", "")
# A checkpoint phone warns when its downloaded trust bundle is older than this many hours.
HEALTH_CHECKPOINT_TRUST_HOURS = env_int("HEALTH_CHECKPOINT_TRUST_HOURS", 24)


def _oidc_signing_key(path: Path) -> str:
    """The PEM of the RSA key that signs ID tokens; the demo generates one, once.

    Every web machine must sign with the same key, so production (``YIWANG_HTTPS``)
    refuses to start without the file, as it does without ``SECRET_KEY``.
    """
    if path.exists():
        return path.read_text()
    if HTTPS:
        raise ImproperlyConfigured(
            f"The OpenID Connect signing key {path} does not exist: create it (see "
            "docs/operations.md) or set OIDC_RSA_PRIVATE_KEY_FILE"
        )
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written aside and linked into place: a process starting at the same moment sees
    # either no file or the whole key, and the first link wins.
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(pem)
    try:
        os.link(draft, path)
    except FileExistsError:
        pem = path.read_text()
    finally:
        draft.unlink()
    return pem


# Single sign-on: the platform is the OpenID Connect provider of department applications
# (django-oauth-toolkit under /oidc/). Scopes, claims and each client's policy live in
# yiwang.identity (claims.py, oidc.py, models.ClientPolicy, the admin's client page);
# docs/architecture.md.
OIDC_RSA_PRIVATE_KEY_FILE = Path(
    env_str("OIDC_RSA_PRIVATE_KEY_FILE", str(DATA_DIR / "keys" / "oidc-rsa.pem"))
)
# Keys signed with before a rotation: still published in the JWKS, never used to sign.
OIDC_RSA_RETIRED_KEY_FILES = [Path(p) for p in env_list("OIDC_RSA_RETIRED_KEY_FILES", [])]
# django-oauth-toolkit's own client model, not swapped: named because the migrations of
# models that point at it refer to it through this setting.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": _oidc_signing_key(OIDC_RSA_PRIVATE_KEY_FILE),
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [p.read_text() for p in OIDC_RSA_RETIRED_KEY_FILES],
    # Empty: the issuer is this site's /oidc (from the request, within ALLOWED_HOSTS).
    "OIDC_ISS_ENDPOINT": env_str("OIDC_ISSUER").rstrip("/"),
    "OAUTH2_VALIDATOR_CLASS": "yiwang.identity.oidc.ClientValidator",
    "SCOPES_BACKEND_CLASS": "yiwang.identity.oidc.ClientScopes",
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OIDC_SUBJECT_TYPES_SUPPORTED": ["pairwise"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post"],
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    # Ask before logging out only when the spec requires it (no or someone else's ID token).
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "PKCE_REQUIRED": True,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OIDC_ACCESS_TOKEN_SECONDS", 3600),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("OIDC_ACCESS_TOKEN_SECONDS", 3600),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OIDC_REFRESH_TOKEN_DAYS", 14) * 24 * 3600,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"] if HTTPS else ["http", "https"],
    # OAuth 2.0 Security Best Current Practice (RFC 9700), enforced rather than warned of.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# E-mail goes through Django's backend; the demo writes messages as files under var/mail.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "一网政务服务平台 <noreply@localhost>")

# The city the demo data and the township (street) level are loaded for.
YIWANG_DEMO_CITY = env_str("YIWANG_DEMO_CITY", "330100")
YIWANG_PLATFORM_NAME = env_str("YIWANG_PLATFORM_NAME", "一网政务服务平台")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        # Personal identifiers never reach a log line.
        "redact_personal": {"()": "yiwang.core.logging.RedactPersonalDataFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_personal"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # SpiffWorkflow logs every task state change at INFO: ~10 lines per step.
        "spiff": {"level": "WARNING"},
    },
}
