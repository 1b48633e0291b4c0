"""Views that read the lifespan state and context, and query the ORM."""

import os

from django.http import HttpRequest, JsonResponse

from djl_shop.models import Item


def _payload(request: HttpRequest, count: int) -> JsonResponse:
    context = request.lifecycle  # type: ignore[attr-defined]
    return JsonResponse(
        {
            "pid": os.getpid(),
            "count": count,
            "catalog": request.state.get("catalog"),  # type: ignore[attr-defined]
            "signal": request.state.get("signal"),  # type: ignore[attr-defined]
            "service_type": context.service_type if context is not None else None,
            "environment": context.environment if context is not None else None,
        }
    )


async def items(request: HttpRequest) -> JsonResponse:
    """Async view: the state, the context, and an async ORM query."""
    return _payload(request, await Item.objects.acount())


def sync_items(request: HttpRequest) -> JsonResponse:
    """Sync view: the same with a sync ORM query."""
    return _payload(request, Item.objects.count())
