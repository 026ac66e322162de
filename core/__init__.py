"""paraseek: search speech by speaking style."""
__version__ = "0.1.0"
