"""The thin paraseek client: gRPC, protobuf and numpy only (no torch, no engine).

``Client`` blocks, ``AsyncClient`` awaits; both raise the typed errors of ``paraseek.errors``.
Structured filters are :mod:`paraseek.filters` objects or their dict form.

Example::

    from paraseek.client import Client

    with Client("127.0.0.1:50051") as client:
        result = client.search("breathy low-pitched angry woman", where="gender=female duration<8",
                               negatives=["whispered"], group_by="speaker", top_k=10)
        for hit in result:
            print(f"{hit.score:.3f} {hit.id} {hit.payload.get('path')} {hit.styles}")
"""

from paraseek.client.aio import AsyncClient
from paraseek.client.sync import Client
from paraseek.client.types import (
    CollectionSummary,
    Facet,
    FacetCount,
    FacetRange,
    FacetResult,
    QueryUnderstanding,
    RankedClip,
    SearchHit,
    SearchResult,
    ServerInfo,
    StoredClip,
    StyleScore,
    UnderstoodStyle,
)
from paraseek.limits import DEFAULT_SERVER_ADDRESS as DEFAULT_SERVER
from paraseek.limits import SERVER_ENV

__all__ = [
    "DEFAULT_SERVER",
    "SERVER_ENV",
    "AsyncClient",
    "Client",
    "CollectionSummary",
    "Facet",
    "FacetCount",
    "FacetRange",
    "FacetResult",
    "QueryUnderstanding",
    "RankedClip",
    "SearchHit",
    "SearchResult",
    "ServerInfo",
    "StoredClip",
    "StyleScore",
    "UnderstoodStyle",
]
