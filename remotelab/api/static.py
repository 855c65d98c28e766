"""The built webapp's files: compressed, cached, revalidated.

The build (``webapp/vite.config.ts``) writes a ``.br`` and a ``.gz`` twin beside every text
file; a file without twins is gzipped here once and kept in memory. A request gets the
smallest encoding its ``Accept-Encoding`` allows. Hashed files under ``assets/`` never change
under their name, so browsers keep them for a year without asking; everything else (above
all ``index.html``, which names the current hashes) is revalidated on every load with its
ETag, answered by a bodiless 304 when unchanged.

The choice of encoding and of headers is plain code (no quart); ``install_webapp`` in
``meta.py`` is the thin route around it.
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

# Compressing these pays; images and fonts are compressed already.
COMPRESSIBLE = {".js", ".mjs", ".css", ".html", ".svg", ".json", ".txt", ".map", ".webmanifest"}
# The twins the build may write (brotli is 15-20 % smaller than gzip on the webapp's code).
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".txt": "text/plain; charset=utf-8",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
}


def accepted(header: str) -> set[str]:
    """The content codings an ``Accept-Encoding`` header allows (``q=0`` refuses one)."""
    allowed: set[str] = set()
    for part in header.split(","):
        name, _, params = part.strip().partition(";")
        name = name.strip().lower()
        if not name:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > 0:
            allowed.add(name)
    if "*" in allowed:
        allowed.update(name for name, _ in ENCODINGS)
    return allowed


@dataclass
class StaticFile:
    """One file with its encodings (``identity`` always present) and its ETag."""

    content_type: str
    cache_control: str
    etag: str
    bodies: dict[str, bytes] = field(default_factory=dict)
    stamp: tuple[int, int] = (0, 0)  # the source's (mtime_ns, size) when read

    def pick(self, accept_encoding: str) -> tuple[str, bytes]:
        """The encoding to send and its body: the smallest one the client accepts."""
        allowed = accepted(accept_encoding) | {"identity"}
        choices = [(len(body), name) for name, body in self.bodies.items() if name in allowed]
        _, name = min(choices)
        return name, self.bodies[name]

    def headers(self, encoding: str) -> dict[str, str]:
        out = {
            "Content-Type": self.content_type,
            "Cache-Control": self.cache_control,
            "ETag": f'"{self.etag}-{encoding}"' if encoding != "identity" else f'"{self.etag}"',
        }
        if len(self.bodies) > 1:
            out["Vary"] = "Accept-Encoding"
        if encoding != "identity":
            out["Content-Encoding"] = encoding
        return out


def etag_matches(if_none_match: str, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak or strong, or ``*``)."""
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


class StaticFiles:
    """The files of one folder, read once and kept (re-read when a file changes on disk)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._files: dict[Path, StaticFile] = {}

    def find(self, path: str) -> Path | None:
        """The file ``path`` names inside the folder, or None (also for ``..`` escapes)."""
        target = (self.root / path).resolve()
        if target.is_relative_to(self.root) and target.is_file():
            return target
        return None

    def load(self, target: Path) -> StaticFile:
        """``target`` (a path from ``find``) with its encodings, from memory when unchanged."""
        info = target.stat()
        stamp = (info.st_mtime_ns, info.st_size)
        known = self._files.get(target)
        if known is not None and known.stamp == stamp:
            return known
        data = target.read_bytes()
        relative = target.relative_to(self.root)
        suffix = target.suffix.lower()
        hashed = relative.parts[0] == "assets"
        entry = StaticFile(
            content_type=TYPES.get(suffix, "application/octet-stream"),
            cache_control=IMMUTABLE if hashed else REVALIDATE,
            etag=hashlib.blake2b(data, digest_size=12).hexdigest(),
            bodies={"identity": data},
            stamp=stamp,
        )
        if suffix in COMPRESSIBLE:
            for name, ending in ENCODINGS:
                twin = target.with_name(target.name + ending)
                # A twin older than its source is left over from another build.
                if twin.is_file() and twin.stat().st_mtime_ns >= info.st_mtime_ns:
                    entry.bodies[name] = twin.read_bytes()
            if "gzip" not in entry.bodies:
                entry.bodies["gzip"] = gzip.compress(data, 9, mtime=0)
        self._files[target] = entry
        return entry
