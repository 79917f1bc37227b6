"""Test settings: the runtime settings with speed and safety overrides only."""

import os

os.environ.setdefault(
    "DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use"
)
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/abusedesk")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")

from abusedesk.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SECURE_SSL_REDIRECT = False
STORAGES["staticfiles"]["BACKEND"] = (  # noqa: F405
    "django.contrib.staticfiles.storage.StaticFilesStorage"
)
# The test servers speak plain HTTP on loopback.
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
# Serve static files from the finders; tests never run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Drainers end as soon as the queue is empty, so a test's worker run is over when
# its messages are (tests/complaints/services/test_drain.py sets them back).
ABUSE_INGEST_LINGER_SECONDS = 0.0
ABUSE_INGEST_IDLE_SECONDS = 0.0
