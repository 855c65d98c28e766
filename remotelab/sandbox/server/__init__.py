"""The server side of the sandbox."""
