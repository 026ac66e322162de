"""The paraseek gRPC server (``paraseek serve``): style search, classification and reranking.

``ParaseekServer(ServerConfig(address="127.0.0.1:50051")).start()`` serves the ``paraseek.v1``
API with the standard health and reflection services; see :class:`ServerConfig` for storage,
model, security, speed and metrics settings.
"""

from paraseek.errors import require

require("torch")
require("grpc_health", extra="engine")
require("grpc_reflection", extra="engine")
require("prometheus_client", extra="engine")

from paraseek.server.app import SERVICE_NAME, ParaseekServer  # noqa: E402
from paraseek.server.config import ServerConfig  # noqa: E402
from paraseek.server.engine import QueryEngine, Scope, SearchOptions, StoredPoint  # noqa: E402

__all__ = ["SERVICE_NAME", "ParaseekServer", "QueryEngine", "Scope", "SearchOptions", "ServerConfig",
           "StoredPoint"]
