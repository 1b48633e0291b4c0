"""Django settings of the storefront: only what the demo needs."""

import config

SECRET_KEY = "shop-demo-not-secret"  # a demo on 127.0.0.1, never deployed
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "django_site.urls"
USE_TZ = True
# The shop's data lives in the SQLite file the hooks open (store.py), not in Django's ORM.
DATABASES: dict[str, dict[str, str]] = {}
INSTALLED_APPS = ["asgi_lifecycle_django"]
MIDDLEWARE = ["asgi_lifecycle_django.LifecycleMiddleware"]  # request.state, request.lifecycle
ASGI_LIFECYCLE = {"SERVICE_TYPE": "app", "CONFIG": config.CONFIG}
