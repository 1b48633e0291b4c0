"""ASGI entry point of the test project."""

import os

from asgi_lifecycle_django import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djl_site.settings")

application = get_asgi_application()
