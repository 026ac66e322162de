"""paraseek: search speech by speaking style."""
from importlib import metadata

#: The installed distribution's version (``pyproject.toml`` is its one source), read once at import.
__version__ = metadata.version("paraseek")
