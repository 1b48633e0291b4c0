"""The storefront's ASGI application: Django's handler, speaking the lifespan protocol."""

import os

import lifecycle
from asgi_lifecycle_django import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "django_site.settings")
# The service type ("app") and the config come from settings.ASGI_LIFECYCLE.
application = get_asgi_application(lifespan=lifecycle.lifespan)
