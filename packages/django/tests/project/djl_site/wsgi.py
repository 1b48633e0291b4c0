"""WSGI entry point of the test project (also what runserver uses)."""

import os

from asgi_lifecycle_django import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djl_site.settings")

application = get_wsgi_application()
