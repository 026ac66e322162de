"""Limits and defaults shared by every layer, each defined once.

The client checks what it can before sending, the server checks everything at its edge, and the
storage, indexer and model layers rely on the same numbers.
"""

from __future__ import annotations

# Where a client looks for a server, and where a server listens, unless told otherwise.
SERVER_ENV = "PARASEEK_SERVER"
DEFAULT_SERVER_ADDRESS = "127.0.0.1:50051"
# Trailing gRPC metadata key that carries an error's paraseek class name.
ERROR_TYPE_METADATA_KEY = "paraseek-error-type"

# Hits one search returns (one page).
MAX_TOP_K = 1000
# Collection and alias names: letters, digits, '_', '-' or '.', starting with a letter or digit.
MAX_COLLECTION_NAME_CHARS = 128
# Characters in one style description (query, negative, candidate style, text to embed).
MAX_TEXT_CHARS = 1000
# Shortest clip any model encodes or the indexer stores, in seconds.
MIN_CLIP_SECONDS = 0.25
# Default gRPC message ceiling, both directions.
DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
# Characters of a user-supplied value quoted in an error message (longer values are cut).
MAX_QUOTED_CHARS = 64
# Characters of an error message the server sends back (gRPC status details travel in metadata).
MAX_ERROR_MESSAGE_CHARS = 1024
# Deepest hit one search may reach: offset + top_k (paging goes this far down a ranking).
MAX_SEARCH_DEPTH = 10_000
# Model precisions every command accepts; ``auto`` is bfloat16 where the device runs it natively, else float32.
PRECISIONS = ("auto", "float32", "bfloat16", "float16")
