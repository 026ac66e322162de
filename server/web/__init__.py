"""The HTTP/JSON API and the curator's workbench page, served beside gRPC by ``paraseek serve --http``.

:func:`create_app` builds the ASGI app over a server's store and engine; :class:`HttpServer` runs
it with uvicorn on a thread of the same process. The page's HTML, CSS and JS ship in ``static/``.
"""

from paraseek.errors import require

require("fastapi")
require("uvicorn")

from paraseek.server.web.api import create_app  # noqa: E402
from paraseek.server.web.serving import HttpServer  # noqa: E402

__all__ = ["HttpServer", "create_app"]
