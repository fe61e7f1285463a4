"""The API docs: every operation described with examples, served whole by the api itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from litestar import Litestar
from litestar.testing import TestClient

from reports_api.app import create_app
from reports_api.settings import ApiSettings

_PROBLEM = "#/components/schemas/Problem"
#: The one deliberate exception to problem details: /status's 404 and 410 in the seed's shape.
_SEED_SHAPED = {
    ("/api/AsyncReports/status/{job_id}", "404"),
    ("/api/AsyncReports/status/{job_id}", "410"),
}
#: The response headers a user of each operation relies on.
_HEADERS = {
    ("POST", "/api/AsyncReports/queue-multipart", "202"): {"Location", "Retry-After"},
    ("POST", "/api/AsyncReports/queue-json", "202"): {"Location", "Retry-After"},
    ("POST", "/api/Reports/generate", "202"): {"Location", "Retry-After"},
    ("GET", "/api/AsyncReports/status/{job_id}", "200"): {"Retry-After"},
    ("GET", "/api/AsyncReports/download/{token}", "200"): {"Content-Disposition"},
    ("OPTIONS", "/api/AsyncReports/uploads", "204"): {
        "Tus-Version",
        "Tus-Extension",
        "Tus-Max-Size",
    },
    ("POST", "/api/AsyncReports/uploads", "201"): {"Location", "Upload-Offset"},
    ("HEAD", "/api/AsyncReports/uploads/{upload_id}", "200"): {"Upload-Offset", "Upload-Length"},
    ("PATCH", "/api/AsyncReports/uploads/{upload_id}", "204"): {"Upload-Offset", "Upload-Job-Url"},
}
_BINARY = "application/zip"


@pytest.fixture(scope="module")
def app() -> Litestar:
    # No service is reached: building the app and its document connects to nothing.
    settings = ApiSettings(s3_access_key="k", s3_secret_key="s", token_secret="t" * 32)
    return create_app(settings)


@pytest.fixture(scope="module")
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def document(client: TestClient[Litestar]) -> dict[str, Any]:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_operation_has_a_summary_a_description_and_examples(
    document: dict[str, Any],
) -> None:
    lacking = []
    for method, path, op in _operations(document):
        where = f"{method} {path}"
        if not op.get("summary") or not op.get("description"):
            lacking.append(f"{where}: summary or description")
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            if not media.get("examples"):
                lacking.append(f"{where}: example of the {media_type} body")
        for status, response in op["responses"].items():
            if not response.get("description"):
                lacking.append(f"{where} {status}: description")
            for media_type, media in response.get("content", {}).items():
                # A ZIP has no example to show; its headers say what it is.
                if media_type != _BINARY and not media.get("examples"):
                    lacking.append(f"{where} {status}: example of {media_type}")
        for parameter in op.get("parameters", []):
            if not parameter.get("description"):
                lacking.append(f"{where}: description of {parameter['name']}")
    assert lacking == []


def test_every_example_is_valid_against_its_schema(document: dict[str, Any]) -> None:
    # Schemathesis sends the request examples, and a user copies them: each must be valid.
    invalid = []
    for method, path, op in _operations(document):
        contents = [("body", op.get("requestBody", {}).get("content", {}))]
        contents += [(status, r.get("content", {})) for status, r in op["responses"].items()]
        for where, content in contents:
            for media_type, media in content.items():
                schema = {**media["schema"], "components": document["components"]}
                for name, example in media.get("examples", {}).items():
                    if media_type == "text/event-stream":
                        assert example["value"].startswith("retry: "), f"{method} {path}"
                        continue  # text, not JSON
                    validator = Draft202012Validator(schema)
                    for error in validator.iter_errors(example["value"]):
                        invalid.append(f"{method} {path} {where} {name}: {error.message}")
        for parameter in op.get("parameters", []):
            for example in parameter.get("examples", {}).values():
                validator = Draft202012Validator(parameter["schema"])
                if not validator.is_valid(example["value"]):
                    invalid.append(f"{method} {path} {parameter['name']}")
    assert invalid == []


def test_the_docs_speak_spanish(document: dict[str, Any]) -> None:
    english = re.compile(r"\b(the|and|of|Request fulfilled|Additional response|seed)\b")
    texts = [document["info"]["description"]]
    for _, _, op in _operations(document):
        texts += [op["summary"], op["description"]]
        texts += [r["description"] for r in op["responses"].values()]
        texts += [p.get("description", "") for p in op.get("parameters", [])]
    for schema in document["components"]["schemas"].values():
        texts.append(schema.get("description", ""))
    texts += [tag["description"] for tag in document["tags"]]
    assert [t for t in texts if english.search(t)] == []


def test_api_routes_take_the_api_key_and_probes_do_not(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "apiKey",
        "name": "X-API-Key",
        "in": "header",
        "description": schemes["ApiKey"]["description"],
    }
    assert schemes["Bearer"]["scheme"] == "bearer"
    for method, path, op in _operations(document):
        if path.startswith("/api/"):
            assert {"ApiKey": []} in op.get("security", []), f"{method} {path}"
        else:
            assert "security" not in op, f"{method} {path}"


def test_the_headers_a_client_relies_on_are_documented(document: dict[str, Any]) -> None:
    for (method, path, status), names in _HEADERS.items():
        response = document["paths"][path][method.lower()]["responses"][status]
        assert names <= set(response.get("headers", {})), f"{method} {path} {status}"
    for method, path, op in _operations(document):
        for status in ("429", "503"):
            if status in op["responses"]:
                assert "Retry-After" in op["responses"][status]["headers"], f"{method} {path}"
    for path in ("/api/AsyncReports/queue-json", "/api/AsyncReports/queue-multipart"):
        parameters = document["paths"][path]["post"]["parameters"]
        assert "Idempotency-Key" in {p["name"] for p in parameters if p["in"] == "header"}


def test_every_error_is_a_problem_but_the_status_seed_shape(document: dict[str, Any]) -> None:
    for method, path, op in _operations(document):
        for status, response in op["responses"].items():
            if int(status) < 400 or (path, status) in _SEED_SHAPED:
                continue
            content = response["content"]
            assert list(content) == ["application/problem+json"], f"{method} {path} {status}"
            assert content["application/problem+json"]["schema"] == {"$ref": _PROBLEM}


def test_events_are_documented_as_an_event_stream(document: dict[str, Any]) -> None:
    ok = document["paths"]["/api/AsyncReports/events/{job_id}"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    (example,) = ok["content"]["text/event-stream"]["examples"].values()
    assert example["value"].startswith("retry: 3000\nevent: status\ndata: {")


def test_the_multipart_form_shows_the_csv_dialect(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/AsyncReports/queue-multipart"]["post"]["requestBody"]
    form = body["content"]["multipart/form-data"]
    assert "csvDialect" in form["schema"]["properties"]
    (example,) = form["examples"].values()
    assert example["value"]["csvDialect"] == "excel-es"


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger"])
def test_the_docs_page_loads_nothing_from_outside_the_api(
    client: TestClient[Litestar], page: str
) -> None:
    response = client.get(page)
    assert response.status_code == 200
    html = response.text
    # The document is written into the page; the URLs in its examples are not loaded.
    outside_document = re.sub(r"spec: \{.*\},?\n", "", html)
    assert len(outside_document) < len(html)
    assert re.findall(r"https?://", outside_document) == []
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert all(a.startswith("/schema/") for a in assets), assets
    assert {a.rsplit("/", 1)[-1] for a in assets} >= {
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "swagger-ui.css",
    }
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert served.content, asset


def test_nothing_layered_would_be_skipped_by_the_status_kept_response(app: Litestar) -> None:
    # The status sends a response made once per view (jobs/rendered.py): the headers,
    # cookies, type encoders and after-request hooks Litestar would add from the app,
    # router or controller are not applied to it. Adding any makes this fail: the kept
    # response must learn them first.
    (handler,) = (
        handler
        for route in app.routes
        if route.path == "/api/AsyncReports/status/{job_id:str}"
        for handler in route.route_handlers  # type: ignore[union-attr]
        if "GET" in handler.http_methods
    )
    assert handler.resolve_response_headers() == frozenset()
    assert handler.resolve_response_cookies() == frozenset()
    assert handler.resolve_type_encoders() == {}
    assert all(getattr(layer, "after_request", None) is None for layer in handler.ownership_layers)
