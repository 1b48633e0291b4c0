"""``python -m asgi_lifecycle``: the ``asgi-lifecycle`` command."""

from ._cli import main

raise SystemExit(main())
