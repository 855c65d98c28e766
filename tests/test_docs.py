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
        skip = rule.endpoint in ("static", "openapi") or rule.rule == "/" or rule.websocket
        if skip or "<path:" in rule.rule:
            continue
        path = rule.rule.replace("<int:", "{").replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, path) in documented, f"{method} {rule.rule} missing from /openapi.json"


async def test_every_operation_documents_success_and_the_error_shape() -> None:
    document = await openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert any(code.startswith("2") for code in responses), (method, path)
            assert responses["default"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/ErrorOut"
            }
    for name, schema in document["components"]["schemas"].items():
        properties = schema.get("properties", {}).values()
        assert "examples" in schema or any("examples" in p for p in properties), (
            f"schema {name} has no example"
        )


async def test_every_response_but_a_204_has_a_schema() -> None:
    """What a client gets back is documented: a JSON schema for every response (the webapp's
    catch-all also names its files). A 204 has no body, so it has no schema; the websocket
    `/v1/stream` is no OpenAPI operation (docs/reference/streaming.md documents it)."""
    document = await openapi_document()
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code == "204":
                    assert "content" not in response, (method, path)
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if not schema:
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []


async def test_the_webapp_routes_need_no_login() -> None:
    document = await openapi_document()
    assert document["paths"]["/"]["get"]["security"] == []
    assert document["paths"]["/{path}"]["get"]["security"] == []
