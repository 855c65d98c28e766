"""The webapp's files as remotelab/api/static.py serves them: compressed, cached, revalidated."""

from __future__ import annotations

import gzip
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from quart import Quart

from remotelab.api.static import IMMUTABLE, StaticFiles, accepted, etag_matches
from tests.conftest import make_settings

SCRIPT = b"export const answer = 42;\n" * 400  # compresses well
BROTLI_TWIN = b"pretend brotli bytes"  # served as they are: the server never decodes a twin


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A built webapp: index.html, a hashed script with a gzip and a brotli twin, a hashed
    stylesheet with no twin, and a picture (not compressed)."""
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text(
        '<!doctype html><script type="module" src="/assets/app-abc123.js"></script>' * 20
    )
    (root / "assets" / "app-abc123.js").write_bytes(SCRIPT)
    (root / "assets" / "app-abc123.js.gz").write_bytes(gzip.compress(SCRIPT))
    (root / "assets" / "app-abc123.js.br").write_bytes(BROTLI_TWIN)
    (root / "assets" / "style-def456.css").write_text("body { margin: 0 }\n" * 100)
    (root / "assets" / "logo-0a1b2c.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2000)
    return root


@pytest.fixture
async def webapp(tmp_path: Path, dist: Path) -> AsyncIterator[Quart]:
    from remotelab.app import create_app

    application = create_app(make_settings(tmp_path, webapp_dir=dist))
    async with application.test_app() as test_app:
        yield test_app.app  # type: ignore[attr-defined]


async def test_a_hashed_script_is_sent_as_brotli_cached_for_a_year(webapp: Quart) -> None:
    response = await webapp.test_client().get(
        "/assets/app-abc123.js", headers={"Accept-Encoding": "gzip, deflate, br"}
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Vary"] == "Accept-Encoding"
    assert response.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert await response.get_data() == BROTLI_TWIN


async def test_gzip_when_brotli_is_not_accepted(webapp: Quart) -> None:
    response = await webapp.test_client().get(
        "/assets/app-abc123.js", headers={"Accept-Encoding": "gzip, br;q=0"}
    )
    assert response.headers["Content-Encoding"] == "gzip"
    body = await response.get_data()
    assert gzip.decompress(body) == SCRIPT
    assert int(response.headers["Content-Length"]) == len(body) < len(SCRIPT) // 10


async def test_plain_bytes_for_a_client_that_accepts_no_encoding(webapp: Quart) -> None:
    response = await webapp.test_client().get("/assets/app-abc123.js")
    assert "Content-Encoding" not in response.headers
    assert await response.get_data() == SCRIPT


async def test_a_file_without_twins_is_gzipped_by_the_server(webapp: Quart) -> None:
    response = await webapp.test_client().get(
        "/assets/style-def456.css", headers={"Accept-Encoding": "br, gzip"}
    )
    assert response.headers["Content-Encoding"] == "gzip"  # no .br twin: gzip it is
    assert response.headers["Content-Type"] == "text/css; charset=utf-8"
    assert gzip.decompress(await response.get_data()) == b"body { margin: 0 }\n" * 100


async def test_pictures_are_not_compressed_again(webapp: Quart) -> None:
    response = await webapp.test_client().get(
        "/assets/logo-0a1b2c.png", headers={"Accept-Encoding": "gzip, br"}
    )
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Type"] == "image/png"
    assert response.headers["Cache-Control"] == IMMUTABLE


@pytest.mark.parametrize("path", ["/", "/index.html", "/some/client/route"])
async def test_index_html_is_revalidated_on_every_load(webapp: Quart, path: str) -> None:
    client = webapp.test_client()
    first = await client.get(path, headers={"Accept-Encoding": "gzip"})
    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "no-cache"
    assert first.headers["Content-Type"] == "text/html; charset=utf-8"
    assert first.headers["Content-Encoding"] == "gzip"
    etag = first.headers["ETag"]
    again = await client.get(path, headers={"Accept-Encoding": "gzip", "If-None-Match": etag})
    assert again.status_code == 304
    assert await again.get_data() == b""
    assert again.headers["ETag"] == etag


async def test_a_changed_file_gets_a_new_etag(webapp: Quart, dist: Path) -> None:
    client = webapp.test_client()
    etag = (await client.get("/")).headers["ETag"]
    index = dist / "index.html"
    index.write_text("<!doctype html><p>new build</p>")
    stat = index.stat()
    os.utime(index, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    response = await client.get("/", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert response.headers["ETag"] != etag
    assert await response.get_data() == b"<!doctype html><p>new build</p>"


async def test_an_etag_of_another_encoding_does_not_match(webapp: Quart) -> None:
    client = webapp.test_client()
    gz = (await client.get("/", headers={"Accept-Encoding": "gzip"})).headers["ETag"]
    plain = await client.get("/", headers={"If-None-Match": gz})
    assert plain.status_code == 200  # the cached gzip body is not this response's body


@pytest.mark.parametrize("path", ["/favicon.ico", "/assets/index-0ld.js", "/robots.txt"])
async def test_a_missing_file_is_a_404_not_the_app(webapp: Quart, path: str) -> None:
    response = await webapp.test_client().get(path)
    assert response.status_code == 404
    body = await response.get_json()
    assert body["code"] == "not_found"
    assert path.lstrip("/") in body["error"]


async def test_no_escape_from_the_folder(webapp: Quart, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("private")
    response = await webapp.test_client().get("/assets/../../secret.txt")
    assert b"private" not in await response.get_data()


def test_accept_encoding_parsing() -> None:
    assert accepted("gzip, deflate, br") == {"gzip", "deflate", "br"}
    assert accepted("br;q=0, gzip;q=0.5") == {"gzip"}
    assert accepted("GZIP ; q=1") == {"gzip"}
    assert accepted("*") >= {"br", "gzip"}
    assert accepted("br;q=nonsense") == set()
    assert accepted("") == set()


def test_if_none_match_parsing() -> None:
    assert etag_matches('"a", "b"', '"b"')
    assert etag_matches('W/"b"', '"b"')
    assert etag_matches("*", '"b"')
    assert not etag_matches('"a"', '"b"')
    assert not etag_matches("", '"b"')


def test_files_are_read_once_while_unchanged(dist: Path) -> None:
    files = StaticFiles(dist)
    target = files.find("assets/app-abc123.js")
    assert target is not None
    assert files.load(target) is files.load(target)
    assert files.find("missing.js") is None
    assert files.find("../dist/index.html") is not None  # inside, however it is spelled
    assert files.find("../") is None
