"""Management commands of asgi-lifecycle-django."""
