"""The package version, in a module of its own so that low layers (the transport's User-Agent)
can read it without importing :mod:`core` (whose ``__init__`` leads to the client)."""

__version__ = "0.1.0"
