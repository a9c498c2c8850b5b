"""Threshold's one settings module, driven by environment variables (see README, "Configuration")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from threshold.config import env

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env.text("THRESHOLD_VAR_DIR") or Path.cwd() / "var").resolve()

DEBUG = env.flag("THRESHOLD_DEBUG")
DEMO_MODE = env.flag("THRESHOLD_DEMO")
SECRET_KEY = env.secret_key("THRESHOLD_SECRET_KEY", VAR_DIR)
# Authenticated encryption of the secrets Threshold must read back, such as authenticator-app
# secrets (threshold.core.crypto). New writes use the first key; every key listed is still
# read, so a new key goes first and an old one leaves after `threshold rotate_encryption_keys`.
ENCRYPTION_KEYS = env.encryption_keys("THRESHOLD_ENCRYPTION_KEYS", VAR_DIR)
ENCRYPTION_KEYS_SET = bool(env.text("THRESHOLD_ENCRYPTION_KEYS"))

BASE_URL = (env.text("THRESHOLD_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
_base = urlsplit(BASE_URL)
if _base.scheme not in {"http", "https"} or not _base.hostname:
    env.ERRORS.append(
        f"THRESHOLD_BASE_URL={BASE_URL!r} is not an http(s) URL such as https://account.example.com."
    )
    _base = urlsplit("http://127.0.0.1:8000")
HTTPS = _base.scheme == "https"
ALLOWED_HOSTS = [_base.hostname or "127.0.0.1"]
if DEMO_MODE or DEBUG or not HTTPS:
    ALLOWED_HOSTS += ["127.0.0.1", "localhost", "[::1]"]
ALLOWED_HOSTS += [h.strip() for h in env.text("THRESHOLD_EXTRA_HOSTS").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [f"{_base.scheme}://{_base.netloc}"]

TRUSTED_PROXIES = env.networks("THRESHOLD_TRUSTED_PROXIES")
REDIS_URL = env.text("THRESHOLD_REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss", "unix"}:
    env.ERRORS.append(f"THRESHOLD_REDIS_URL={REDIS_URL!r} is not a redis:// URL.")
    REDIS_URL = ""

INSTALLED_APPS = [
    "threshold.core",
    "threshold.accounts",
    "threshold.activity",
    "threshold.verification",
    "threshold.security",
    "threshold.orgs",
    "threshold.devices",
    "threshold.recovery",
    "threshold.config.apps.StaffAdminConfig",  # Django's admin at /staff/, behind the portal's sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "threshold.core.middleware.RequestContextMiddleware",
    "threshold.accounts.middleware.HashingBusyMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "threshold.accounts.middleware.AccountPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Ends a session left unused for the idle time (without "Keep me signed in").
    "threshold.accounts.session_activity.SessionIdleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "threshold.devices.middleware.DeviceMiddleware",
    # Organisation policy: session limits, and refusals drawn as locks.
    "threshold.orgs.middleware.OrganizationPolicyMiddleware",
    # The registered session restrictions (verification.restrictions), served in their order.
    "threshold.verification.middleware.SessionRestrictionMiddleware",
    # allauth's UserSessionsMiddleware, writing "last seen" at most once a minute per session.
    "threshold.accounts.session_activity.SessionActivityMiddleware",
]

ROOT_URLCONF = "threshold.config.urls"
WSGI_APPLICATION = "threshold.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "threshold.core.context_processors.portal",
                "threshold.orgs.context_processors.console",
            ],
        },
    }
]

DATABASES = {"default": env.database("THRESHOLD_DATABASE_URL", VAR_DIR / "threshold.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES: dict[str, dict[str, Any]]
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "threshold",
        }
    }
    SESSION_ENGINE = "threshold.accounts.session_store.cached_db"
else:
    # The database cache is shared by every app process, so throttling counters hold
    # across processes even without Redis.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "threshold_cache",
            # SECURITY: Django's default of 300 entries made every write beyond 300 live keys
            # evict a third of them, sign-in throttling and rate-limit state included (a
            # benchmark's sign-in flood did that on every write). Counting the rows on each
            # write stays cheap at this size (~0.15 ms at 50,000 rows).
            "OPTIONS": {"MAX_ENTRIES": 200_000},
        }
    }
    SESSION_ENGINE = "threshold.accounts.session_store.db"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["threshold.accounts.backends.EmailBackend"]
PASSWORD_HASHERS = ["threshold.accounts.hashers.BoundedArgon2idHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "threshold.accounts.passwords.LengthValidator"},
    {"NAME": "threshold.accounts.passwords.BlocklistValidator"},
    {"NAME": "threshold.accounts.passwords.ContextWordsValidator"},
    {"NAME": "threshold.accounts.passwords.StrengthValidator"},
]
# Password hashing per app process (threshold.accounts.hashers, bench/README.md "Benchmarks"):
# how many hashes it computes at once, how many more requests may wait for a slot (beyond that,
# 503 at once), and how much lower than page requests the hashing threads' CPU priority is.
# SECURITY: the throttle's waits (verification/throttle.py) still let about 96 guesses a day through,
# forever. After this many wrong passwords in a row the password alone no longer signs the account
# in, until a password reset; passkeys keep working, and the owner is told.
SIGN_IN_FAILURE_LIMIT = env.integer("THRESHOLD_SIGN_IN_FAILURE_LIMIT", 100, minimum=10)
HASHING_CONCURRENCY = env.integer("THRESHOLD_HASHING_CONCURRENCY", 1, minimum=1)
HASHING_QUEUE = env.integer("THRESHOLD_HASHING_QUEUE", 24, minimum=0)
HASHING_NICENESS = min(19, env.integer("THRESHOLD_HASHING_NICENESS", 5, minimum=0))

LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "account_login"

# --- django-allauth -----------------------------------------------------------------
ACCOUNT_ADAPTER = "threshold.accounts.adapter.AccountAdapter"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*"]
ACCOUNT_SIGNUP_FORM_CLASS = "threshold.accounts.forms.SignupDetailsForm"
ACCOUNT_FORMS = {
    name: f"threshold.accounts.allauth_forms.{cls}"
    for name, cls in {
        "login": "LoginForm",
        "signup": "SignupForm",
        "set_password": "SetPasswordForm",
        "reauthenticate": "ReauthenticateForm",
        "confirm_email_verification_code": "ConfirmEmailVerificationCodeForm",
        "confirm_reauthentication_code": "ConfirmReauthenticationCodeForm",
    }.items()
}
# Security info's form adds the fresh-sign-in rule on top of accounts' change-password form.
ACCOUNT_FORMS["change_password"] = "threshold.security.forms.passwords.ChangePasswordForm"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
# An account whose address nobody verified this many hours after its sign-up is deleted
# (`threshold discard_expired_sign_ups`); a new sign-up for the address replaces it at once.
UNVERIFIED_SIGNUP_HOURS = env.integer("THRESHOLD_UNVERIFIED_SIGNUP_HOURS", 6, minimum=1, maximum=24 * 30)
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_MAX_ATTEMPTS = 5
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 15 * 60
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_RESEND = 3  # "Send a new code", up to three times
# No "use a different address" while verifying: allauth cannot offer it for the stand-in
# process it runs for an address that already has an account, so the page would differ.
ACCOUNT_EMAIL_VERIFICATION_SUPPORTS_CHANGE = False
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_MAX_EMAIL_ADDRESSES = 5
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_CHANGE_EMAIL = False
ACCOUNT_SESSION_REMEMBER = None  # the person chooses: "Keep me signed in"
ACCOUNT_LOGOUT_ON_GET = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_REAUTHENTICATION_TIMEOUT = 10 * 60
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Threshold: "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if HTTPS else "http"
ACCOUNT_PASSWORD_INPUT_RENDER_VALUE = False
# Our own throttle (threshold.verification.throttle) grows delays for failed sign-ins; allauth's
# fixed-window limits stay on for the flows it owns (codes, email sends, password changes).
ACCOUNT_RATE_LIMITS = {
    "login_failed": False,
    "login": "60/m/ip",
    "signup": "20/m/ip",
    # A new code at most every 10 s (what "Send a new code" needs) and 10 an hour per address,
    # so nobody can flood someone's inbox through sign-up or resend.
    "confirm_email": "1/10s/key,10/h/key",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
# Recovery codes are Threshold's own (threshold.security: hashed, shown once), not allauth's.
MFA_SUPPORTED_TYPES = ["totp", "webauthn"]
# Sign in with a passkey alone ("Sign in with a passkey", and autofill where supported).
MFA_PASSKEY_LOGIN_ENABLED = True
# SECURITY: fido2 already accepts http://localhost for development; allowing "insecure
# origins" would make allauth accept an assertion from ANY origin, which is what makes
# passkeys phishing-resistant in the first place.
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = False
MFA_ADAPTER = "threshold.security.adapter.MFAAdapter"
# Each passkey sign-in asks for a challenge up to twice (autofill, then the button) and
# posts once; allauth's 10 a minute per address would lock out an office behind one NAT.
# A passkey has no secret to guess, and checking one costs about 0.1 ms.
MFA_RATE_LIMITS = {"webauthn_login": "60/m/ip"}
MFA_FORMS = {
    "activate_totp": "threshold.security.forms.methods.AuthenticatorAppForm",
    "add_webauthn": "threshold.security.forms.passkeys.AddPasskeyForm",
    "login_webauthn": "threshold.security.forms.passkeys.PasskeySignInForm",
    "reauthenticate": "threshold.security.forms.challenge.CodeReauthenticateForm",
    "reauthenticate_webauthn": "threshold.security.forms.passkeys.PasskeyReauthenticateForm",
}
MFA_TOTP_ISSUER = "Threshold"
# One 30-second step either side, for phones whose clock drifts; a used code stays
# refused for the whole window (allauth records it in the shared cache).
MFA_TOTP_TOLERANCE = 1
USERSESSIONS_TRACK_ACTIVITY = True
SESSION_ACTIVITY_INTERVAL = 60  # seconds "last seen" may lag (threshold.accounts.session_activity)

# --- Sessions and cookies ---------------------------------------------------------------
SESSION_COOKIE_AGE = 30 * 24 * 3600  # "Keep me signed in": 30 days; otherwise until the browser closes
# Without "Keep me signed in", a session also ends after this long unused (on the server, whatever
# the browser does). An organisation's session lifetime and sign-in frequency apply on top.
SESSION_IDLE_SECONDS = env.integer("THRESHOLD_SESSION_IDLE_HOURS", 12, minimum=1, maximum=24 * 30) * 3600
SESSION_COOKIE_HTTPONLY = True
# SECURITY: messages ("Successfully signed in as ada@example.com") are kept in the session on
# the server. Django's default keeps them in a cookie of their own, signed but readable, so
# the email address travelled in every request and sat in the browser's cookie store.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = HTTPS
SESSION_COOKIE_NAME = "__Host-threshold_session" if HTTPS else "threshold_session"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SECURE = HTTPS
CSRF_COOKIE_NAME = "__Host-csrftoken" if HTTPS else "csrftoken"
CSRF_FAILURE_VIEW = "threshold.core.views.csrf_failure"
LANGUAGE_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- Security headers -------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = HTTPS and env.flag("THRESHOLD_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = False
# Preloading is an operator's decision that is hard to undo (it binds every subdomain), so
# Threshold does not make it for them and does not warn about it.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}

# --- Internationalisation -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = None  # served from the app folders by WhiteNoise; no collectstatic
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # WhiteNoise serves straight from the app folders (no collectstatic step to forget).
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- Mail, text messages, background work ------------------------------------------------------
OUTBOX_DIR = VAR_DIR / "outbox"
MAILERS = {"default": env.email("THRESHOLD_EMAIL_URL", OUTBOX_DIR)}
DEFAULT_FROM_EMAIL = env.text("THRESHOLD_FROM_EMAIL") or f"Threshold <no-reply@{_base.hostname}>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
SMS_GATEWAY = env.text("THRESHOLD_SMS_GATEWAY") or "threshold.core.sms.OutboxSmsGateway"
# SECURITY: mail and text messages go through this durable queue and are sent by
# `threshold worker`, never inside a request, so a slow mail server cannot tell a real account
# from an unknown one by the time a page takes. The worker must run beside the server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# A task left running this long is taken to belong to a killed worker and is run again
# (`threshold worker`); longer than any task takes. Mail and text messages are keyed, so a
# rerun never sends one twice.
TASK_LEASE_SECONDS = env.integer("THRESHOLD_TASK_LEASE_SECONDS", 600, minimum=1)

# --- Recent activity ----------------------------------------------------------------------------
# Sign-ins are kept this many days, security changes longer (`threshold prune_activity`).
ACTIVITY_RETENTION_DAYS = env.integer("THRESHOLD_ACTIVITY_RETENTION_DAYS", 90, minimum=1)
CHANGE_RETENTION_DAYS = env.integer("THRESHOLD_CHANGE_RETENTION_DAYS", 730, minimum=1)

# --- Devices ----------------------------------------------------------------------------------
# A device unused this many days is marked stale on the Devices page and suggested for removal.
STALE_DEVICE_DAYS = env.integer("THRESHOLD_STALE_DEVICE_DAYS", 90, minimum=1)

# --- Replacing every sign-in method (threshold.security) ---------------------------------------
# Methods older than this many days are the account's "older" methods: removing the last of
# them waits SECURITY_INFO_WAIT_DAYS unless confirmed with one of them.
SECURITY_INFO_WINDOW_DAYS = env.integer("THRESHOLD_SECURITY_INFO_WINDOW_DAYS", 7, minimum=1)
SECURITY_INFO_WAIT_DAYS = env.integer("THRESHOLD_SECURITY_INFO_WAIT_DAYS", 30, minimum=1)
# --- Temporary Access Pass (threshold.recovery) -----------------------------------------------
# How long a newly issued pass works, in minutes; an issuer may choose another length within
# the same bounds. Sign-ins with a pass are limited per account and per client address, as
# (count, seconds) fixed windows, like text-message codes.
ACCESS_PASS_MINUTES_BOUNDS = (10, 1440)
ACCESS_PASS_MINUTES = env.integer(
    "THRESHOLD_ACCESS_PASS_MINUTES",
    60,
    minimum=ACCESS_PASS_MINUTES_BOUNDS[0],
    maximum=ACCESS_PASS_MINUTES_BOUNDS[1],
)
ACCESS_PASS_ATTEMPT_LIMITS = {
    "account": [(5, 15 * 60), (20, 86400)],
    "address": [(20, 15 * 60), (100, 86400)],
}
# --- Organisations ------------------------------------------------------------------------------
# How long the link in an invitation to a new work account works.
ORG_INVITATION_DAYS = env.integer("THRESHOLD_ORG_INVITATION_DAYS", 7, minimum=1)
# --- Account recovery ---------------------------------------------------------------------------
# Days a recovery by email address and phone number waits before it can be completed, while
# every verified address is told and can cancel it. Below one day the owner may not see the
# warning in time; beyond 30 the person locked out waits too long for help.
RECOVERY_WAIT_DAYS = env.integer("THRESHOLD_RECOVERY_WAIT_DAYS", 7, minimum=1, maximum=30)

# --- Profile photos ---------------------------------------------------------------------------
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_SIZE = 256
# Uploads per account in a fixed window: (count, seconds). Decoding a large image costs CPU.
PHOTO_UPLOAD_LIMITS = [(20, 3600)]

# --- Phone numbers and text-message codes -------------------------------------------------------
PHONE_MAX_NUMBERS = 5
PHONE_CODE_TTL = 10 * 60  # a code works for 10 minutes
PHONE_CODE_MAX_TRIES = 5  # wrong tries per number before its code stops working
# How long a number's count of wrong tries lasts: new codes within it keep the count.
PHONE_CODE_TRY_WINDOW = 60 * 60
# Codes sent per fixed window, as (count, seconds): per number (on any account), per
# account and per client address. Text messages cost money and can be used to harass.
PHONE_CODE_SEND_LIMITS = {
    "number": [(1, 30), (5, 3600), (10, 86400)],
    "account": [(10, 3600), (20, 86400)],
    "address": [(20, 3600), (50, 86400)],
}
# Codes sent by email (threshold.accounts.codes): how long each purpose's code works (an
# hour at most, which a system check enforces), and the caps per address, account and
# client address, as for texts.
EMAIL_CODE_TTL = {"password_reset": 30 * 60, "recovery_email": 30 * 60, "recovery_contact": 30 * 60}
EMAIL_CODE_SEND_LIMITS = {
    "email": [(5, 3600), (10, 86400)],
    "account": [(10, 3600), (20, 86400)],
    "address": [(20, 3600), (50, 86400)],
}

# --- Resetting a forgotten password (threshold.recovery) ------------------------------------------
# Steps of the reset (asking for it, sending a code) per fixed window, as (count, seconds):
# per email typed (whether or not an account has it) and per client address.
PASSWORD_RESET_LIMITS = {
    "account": [(6, 900), (20, 86400)],
    "address": [(30, 3600), (100, 86400)],
}
# Codes and links checked per client address, on top of each code's own five tries.
PASSWORD_RESET_CHECK_LIMITS = [(30, 3600)]
# How long a reset may take once the code is right (second method, new password).
PASSWORD_RESET_STEP_SECONDS = 15 * 60

DATA_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 6 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("THRESHOLD_LOG_LEVEL", "WARNING")},
}

THRESHOLD_CONFIG_ERRORS = env.ERRORS
