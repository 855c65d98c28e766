"""remotelab: a remote PSLab lab server with a sandboxed notebook."""

__version__ = "0.1.0"
