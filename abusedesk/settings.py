"""Settings for the abuse desk, read from the environment (12-factor).

With an empty environment the desk runs on embedded defaults: SQLite and an
embedded Redis, both under var/. Production sets DATABASE_URL, REDIS_URL and
DJANGO_SECRET_KEY. The abuse policy numbers are the ABUSE_* settings at the end;
the rules that use them live in complaints/strikes.py.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("ABUSE_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()
environ.Env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="dev-only-insecure" if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Set it, or set DJANGO_DEBUG=1 for local use."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_filters",
    "django_rq",
    "accounts",
    "complaints",
    "outbound",
    # Last: the project's own commands (seed_demo), which use every app.
    "abusedesk",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "abusedesk.urls"
WSGI_APPLICATION = "abusedesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "abusedesk.roles.roles_context",
                "abusedesk.branding.branding_context",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default lives under var/; SQLite creates the file, not the folder.
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # SQLite is the single-machine embedded default: WAL lets the worker write
    # while the web process reads, and the timeout rides out short write locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
elif PG_RANDOM_PAGE_COST := env.str("ABUSE_PG_RANDOM_PAGE_COST", default="1.1"):
    # PostgreSQL's default (4) prices a random page as if it came from a
    # spinning disk. The desk's hot tables live in memory or on SSDs, and at 4
    # the planner walks a table's time index to find the newest rows of one
    # mailing or subscriber (taking them to be spread evenly over time) rather
    # than use the index made for them: 7 ms instead of 0.4 ms at 1M
    # complaints. Empty: the server's own setting (e.g. behind a pgbouncer
    # that refuses startup options; set it with ALTER DATABASE there). The
    # connection's options replace libpq's PGOPTIONS, so those are kept first.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = " ".join(
        filter(
            None,
            [
                env.str("PGOPTIONS", default="").strip(),
                f"-c random_page_cost={float(PG_RANDOM_PAGE_COST)}",
            ],
        )
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: REDIS_URL, else the embedded redis-server that `make run` starts on a
# unix socket under var/ (see abusedesk/embedded.py).
EMBEDDED_REDIS_SOCKET = VAR_DIR / "redis.sock"
REDIS_URL = env.str("REDIS_URL", default=f"unix://{EMBEDDED_REDIS_SOCKET}?db=0")
RQ_QUEUES = {
    "ingest": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
    "default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600},
}
# One cache for every web process and host (rate limits, dashboard figures).
CACHES = {
    "default": {
        "BACKEND": "abusedesk.cache.DeskRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "desk",
    }
}
# Services enqueue through transaction.on_commit themselves (STYLE.md section 7);
# "auto" keeps django-rq from deferring a second time.
RQ = {"COMMIT_MODE": "auto"}
RQ_SHOW_ADMIN_LINK = True

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Mail out: EMAIL_URL (smtp://user:pass@host:587/?tls=True), console by default.
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="abuse@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# HTTPS hardening; on unless DEBUG. Behind a TLS-terminating proxy set
# DJANGO_SECURE_PROXY_SSL_HEADER=1 so Django trusts X-Forwarded-Proto.
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if env.bool("DJANGO_SECURE_PROXY_SSL_HEADER", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": env.str("DJANGO_LOG_LEVEL", default="INFO"),
    },
}

# --- Abuse policy (the rules that use these live in complaints/strikes.py) ---
# Complaints on one mailing that make it eligible for a strike.
ABUSE_COMPLAINTS_PER_STRIKE = env.int("ABUSE_COMPLAINTS_PER_STRIKE", default=1)
# A mailing is a bogus-address mailing when its hard bounces reach BOTH this count
# and this share of its recipients (the count alone when recipients are unknown).
ABUSE_BOGUS_MIN = env.int("ABUSE_BOGUS_MIN", default=25)
ABUSE_BOGUS_RATE = env.float("ABUSE_BOGUS_RATE", default=0.10)
# Live strikes that suspend the account.
ABUSE_STRIKE_LIMIT = env.int("ABUSE_STRIKE_LIMIT", default=3)
# Days a strike stays live; unset means strikes never expire.
ABUSE_STRIKE_WINDOW_DAYS = env.int("ABUSE_STRIKE_WINDOW_DAYS", default=None)
# Issue strikes on complaint mailings without a staff click.
ABUSE_AUTO_STRIKE = env.bool("ABUSE_AUTO_STRIKE", default=False)
# Most recipients one webmail message may have.
ABUSE_WEBMAIL_RECIPIENT_CAP = env.int("ABUSE_WEBMAIL_RECIPIENT_CAP", default=30)
# A burst: more than this many messages from one account within the window is held.
ABUSE_BURST_MESSAGES = env.int("ABUSE_BURST_MESSAGES", default=200)
ABUSE_BURST_WINDOW_MINUTES = env.int("ABUSE_BURST_WINDOW_MINUTES", default=10)
# Reports about one subscriber with the same normalised subject within this many
# hours belong to the same mailing.
ABUSE_MAILING_WINDOW_HOURS = env.int("ABUSE_MAILING_WINDOW_HOURS", default=48)
# How long after a campaign a report with a matching subject is still its
# re-send (to those who did not open it); a new issue a week on is a new mailing.
ABUSE_MAILING_RESEND_DAYS = env.int("ABUSE_MAILING_RESEND_DAYS", default=4)
# Header the ISP's outbound servers stamp on every message (carries the login).
ABUSE_TRACE_HEADER = env.str("ABUSE_TRACE_HEADER", default="X-Abuse-Trace")
# Messages left pending longer than this make the sweep wake a worker.
ABUSE_PENDING_SWEEP_MINUTES = env.int("ABUSE_PENDING_SWEEP_MINUTES", default=10)
# A worker claims up to this many pending messages per transaction, and drains
# batch after batch for at most this many seconds per job (then a fresh job goes on).
ABUSE_INGEST_BATCH = env.int("ABUSE_INGEST_BATCH", default=100)
ABUSE_INGEST_DRAIN_SECONDS = env.float("ABUSE_INGEST_DRAIN_SECONDS", default=60.0)
# A drainer that claimed less than a full batch waits this long before claiming
# again, so that arrivals gather into one transaction, and keeps polling an empty
# queue this long before its job ends: a job (a fork, fresh connections and
# caches) per handful of messages costs more than the messages.
ABUSE_INGEST_LINGER_SECONDS = env.float("ABUSE_INGEST_LINGER_SECONDS", default=0.2)
ABUSE_INGEST_IDLE_SECONDS = env.float("ABUSE_INGEST_IDLE_SECONDS", default=2.0)
# A batch is claimed (committed) before it is processed; a claim its worker
# has not finished after this long, with no transaction holding it, belongs to
# a worker that died (killed for memory or time): its messages are claimed again,
# each alone, and one claimed this many times without finishing is marked failed.
ABUSE_INGEST_CLAIM_LEASE_SECONDS = env.float(
    "ABUSE_INGEST_CLAIM_LEASE_SECONDS", default=60.0
)
ABUSE_INGEST_MAX_CLAIMS = env.int("ABUSE_INGEST_MAX_CLAIMS", default=3)
# Largest message accepted by the HTTP ingest endpoint and the public form.
ABUSE_INGEST_MAX_BYTES = env.int("ABUSE_INGEST_MAX_BYTES", default=25 * 1024 * 1024)
ABUSE_REPORT_MAX_BYTES = env.int("ABUSE_REPORT_MAX_BYTES", default=2 * 1024 * 1024)
# Where notices to subscribers and complainants come from.
ABUSE_FROM_EMAIL = env.str("ABUSE_FROM_EMAIL", default=DEFAULT_FROM_EMAIL)
# The MTA's queue commands for held batches; the queue id is appended (only ids
# recorded at hold time, each checked against Postfix's queue-id syntax; see
# complaints/queueids.py). Empty: the desk only records the decision.
ABUSE_QUEUE_RELEASE_COMMAND = env.str(
    "ABUSE_QUEUE_RELEASE_COMMAND", default=""
)  # postsuper -H
ABUSE_QUEUE_DELETE_COMMAND = env.str(
    "ABUSE_QUEUE_DELETE_COMMAND", default=""
)  # postsuper -d
# The desk's public address, used in links inside the mail it sends.
# Without it, links follow the port the desk was started on (PORT, as make run sets).
ABUSE_PUBLIC_URL = env.str(
    "ABUSE_PUBLIC_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
# The dashboard's chart keeps a count per closed day; a kept day is counted again
# when it is older than this (late-processed mail), one day per dashboard view.
ABUSE_DASHBOARD_RECOUNT_MINUTES = env.int("ABUSE_DASHBOARD_RECOUNT_MINUTES", default=10)
# --- The desk for daily work (issue 13) ---
# A held batch is overdue after ABUSE_HOLD_REVIEW_HOURS (outbound block below).
# Who the desk speaks for, on the public pages and in every mail it sends; the
# contact defaults to ABUSE_FROM_EMAIL.
ABUSE_ISP_NAME = env.str("ABUSE_ISP_NAME", default="Example ISP")
ABUSE_ISP_CONTACT = env.str("ABUSE_ISP_CONTACT", default="")
# The ISP's own mail network, for linking (complaints/linking/network.py): names,
# addresses or networks of the outbound relays, the inbound MX and the webmail
# servers, and the ISP's mail domains (empty: the domains most subscribers'
# addresses use). A report whose trail never touched these, nor one of the
# subscribers' assigned addresses, cannot be blamed on a subscriber's From line.
ABUSE_RELAY_HOSTS = env.list("ABUSE_RELAY_HOSTS", default=[])
ABUSE_MX_HOSTS = env.list("ABUSE_MX_HOSTS", default=[])
ABUSE_WEBMAIL_CLIENTS = env.list("ABUSE_WEBMAIL_CLIENTS", default=[])
ABUSE_ISP_DOMAINS = env.list("ABUSE_ISP_DOMAINS", default=[])

# --- Hardening (issue 10): login throttling, CSP, Redis timeouts ---
# django-axes counts failed logins in PostgreSQL (its AccessAttempt table) for
# the desk's login page and the admin alike: an account, or a client address,
# with ABUSE_LOGIN_FAILURE_LIMIT failures is locked for ABUSE_LOGIN_COOLOFF_MINUTES
# (unlock early in the admin: Axes > Access attempts, delete the rows).
INSTALLED_APPS += ["axes"]
# Last, as django-axes requires: it turns a refused login into the lock-out page.
MIDDLEWARE += [
    "abusedesk.middleware.ContentSecurityPolicyMiddleware",
    "axes.middleware.AxesMiddleware",
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("ABUSE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(
    minutes=env.int("ABUSE_LOGIN_COOLOFF_MINUTES", default=15)
)
# Per account and, separately, per client address.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_CLIENT_IP_CALLABLE = "complaints.views.public.client_ip"
AXES_VERBOSE = False
# Content-Security-Policy: only the desk's own scripts and styles, no inline
# script or style (abusedesk/middleware.py).
ABUSE_CONTENT_SECURITY_POLICY = env.str(
    "ABUSE_CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
)
# Where `ingest_email` writes what it logs while storing a message it then
# stores (it prints nothing on success: MTAs may take output as failure).
ABUSE_PIPE_LOG_FILE = env.str("ABUSE_PIPE_LOG_FILE", default="")
# A Redis that stops answering must cost a page a second, not hang it: the
# cache's callers fall back (rate limits to PostgreSQL, figures uncached).
CACHES["default"]["OPTIONS"] = {
    "socket_connect_timeout": env.float("ABUSE_REDIS_TIMEOUT", default=1.0),
    "socket_timeout": env.float("ABUSE_REDIS_TIMEOUT", default=1.0),
}
# Enqueueing likewise, with more room (the pipe must answer its MTA; a message
# not enqueued waits for the sweep): redis-py reads the timeouts from the URL,
# and RQ's workers raise the socket timeout to what their blocking reads need.
for _queue in RQ_QUEUES.values():
    if "socket_timeout" not in _queue["URL"]:
        _timeout = env.float("ABUSE_REDIS_QUEUE_TIMEOUT", default=5.0)
        _queue["URL"] += "&" if "?" in _queue["URL"] else "?"
        _queue["URL"] += f"socket_connect_timeout={_timeout}&socket_timeout={_timeout}"
# --- Outbound control (the Postfix policy service, outbound/) ---
# More recipients than this from one account within ABUSE_BURST_WINDOW_MINUTES is
# a burst too (as ABUSE_BURST_MESSAGES is for messages).
ABUSE_BURST_RECIPIENTS = env.int("ABUSE_BURST_RECIPIENTS", default=1000)
# The webmail servers are ABUSE_WEBMAIL_CLIENTS (the ISP network block above).
# Distinct client networks (/24, /48) one login may use within an hour before the
# account is flagged as likely compromised; with ABUSE_HOLD_SUSPECT_LOGINS its mail
# is held as well.
ABUSE_LOGIN_NETWORKS_PER_HOUR = env.int("ABUSE_LOGIN_NETWORKS_PER_HOUR", default=4)
ABUSE_HOLD_SUSPECT_LOGINS = env.bool("ABUSE_HOLD_SUSPECT_LOGINS", default=False)
# What the policy service answers when Redis or PostgreSQL is down: DUNNO lets
# mail flow, DEFER_IF_PERMIT makes clients retry later.
ABUSE_POLICY_FAIL_ACTION = env.str("ABUSE_POLICY_FAIL_ACTION", default="DUNNO")
# Whom a refused sender is told to contact (in the SMTP reply).
ABUSE_POLICY_CONTACT = env.str(
    "ABUSE_POLICY_CONTACT", default="customer support at the number on your bill"
)
# Days submission records are kept.
ABUSE_SUBMISSION_RETENTION_DAYS = env.int("ABUSE_SUBMISSION_RETENTION_DAYS", default=90)
# A held batch not reviewed within this many hours shows as overdue.
ABUSE_HOLD_REVIEW_HOURS = env.int("ABUSE_HOLD_REVIEW_HOURS", default=4)
# How long a count past its cap ("more than 10,000 complaints") is kept in the
# cache before it is counted again; counts under the cap are always live. 0: never kept.
ABUSE_CAPPED_COUNT_SECONDS = env.int("ABUSE_CAPPED_COUNT_SECONDS", default=60)
# Reads a held message's headers (subject, recipients); {queue_id} and
# {relay_host} are filled in (no shell). Empty: recipients are not fetched.
ABUSE_QUEUE_HEADERS_COMMAND = env.str("ABUSE_QUEUE_HEADERS_COMMAND", default="")
# Seconds one queue command may run.
ABUSE_QUEUE_COMMAND_TIMEOUT = env.int("ABUSE_QUEUE_COMMAND_TIMEOUT", default=30)
# IMAP mailbox polled for complaints and bounces (off when ABUSE_IMAP_HOST is empty).
ABUSE_IMAP_HOST = env.str("ABUSE_IMAP_HOST", default="")
ABUSE_IMAP_PORT = env.int("ABUSE_IMAP_PORT", default=993)
ABUSE_IMAP_SSL = env.bool("ABUSE_IMAP_SSL", default=True)
ABUSE_IMAP_USER = env.str("ABUSE_IMAP_USER", default="")
ABUSE_IMAP_PASSWORD = env.str("ABUSE_IMAP_PASSWORD", default="")
ABUSE_IMAP_FOLDER = env.str("ABUSE_IMAP_FOLDER", default="INBOX")
ABUSE_IMAP_DONE_FOLDER = env.str("ABUSE_IMAP_DONE_FOLDER", default="")
