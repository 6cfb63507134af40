"""Settings for the test suite: SQLite in memory unless ``DATABASE_URL`` names another store."""

from .base import *  # noqa: F403
from .base import ENV, database_config

DEBUG = False
if not ENV.get("DATABASE_URL"):
    DATABASES = {"default": database_config(None)}
    DATABASES["default"]["NAME"] = ":memory:"
    DATABASES["default"]["OPTIONS"]["init_command"] = "PRAGMA foreign_keys=ON;"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
STATIC_ROOT = None  # type: ignore[assignment]  # no collected files in tests
WHITENOISE_USE_FINDERS = True
ARGON2_TIME_COST = 1
ARGON2_MEMORY_COST_KIB = 1024
