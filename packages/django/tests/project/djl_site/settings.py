"""Settings of the test project: SQLite, one app with a model, asgi-lifecycle installed.

The database file and the hook log come from the environment (the tests point them
into a temporary directory), so nothing is written into the source tree.
"""

import os

SECRET_KEY = "test-only-not-secret"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True

INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "asgi_lifecycle_django",
    "djl_shop",
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
    "asgi_lifecycle_django.LifecycleMiddleware",
]

ROOT_URLCONF = "djl_site.urls"
WSGI_APPLICATION = "djl_site.wsgi.application"
STATIC_URL = "static/"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJL_DB", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

ASGI_LIFECYCLE = {
    "SERVICE_TYPE": "app",
    "ENVIRONMENT": "test",
    "CONFIG": {"shop": {"greeting": "hello from settings"}},
    "MODULES": ["djl_site.lifecycle"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "asgi_lifecycle": {"handlers": ["console"], "level": "INFO"},
        "asgi_lifecycle_django": {"handlers": ["console"], "level": "INFO"},
    },
}
