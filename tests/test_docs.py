"""Reference docs generated from the code stay in sync with it."""

from __future__ import annotations

from pathlib import Path

from remotelab.reference import openapi_document, render

ROOT = Path(__file__).resolve().parent.parent


async def test_api_reference_is_in_sync() -> None:
    doc = (ROOT / "docs" / "reference" / "api.md").read_text()
    assert doc == render(await openapi_document()), (
        "run: python -m remotelab.reference > docs/reference/api.md"
    )


async def test_every_route_is_in_the_openapi_document() -> None:
    from remotelab.app import create_app
    from tests.conftest import make_settings

    document = await openapi_document()
    documented = {
        (method.upper(), path) for path, ops in document["paths"].items() for method in ops
    }
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_settings(Path(tmp)))
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "openapi") or rule.rule == "/" or "<path:" in rule.rule:
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {rule.rule} missing from /openapi.json"
