"""The OpenAPI document describes every answer of every route (each route declares its success answer,
gateway/routes/; gateway/openapi.py adds the errors); the fuzz test (tests/e2e/test_api_fuzz.py) then holds
the running gateway to it."""

from __future__ import annotations

import pytest

from gateway.app import create_app


@pytest.fixture(scope="module")
def spec():
    return create_app().openapi()  # the document only: no lifespan, no connections


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            yield method, path, op


def test_every_route_has_its_success_answer_described(spec):
    schemas = spec["components"]["schemas"]

    def named_model(schema: dict) -> str:
        """The response model a success schema names (itself, or the items of a list); "" when none."""
        if schema.get("type") == "array":
            schema = schema.get("items", {})
        name = schema.get("$ref", "").rsplit("/", 1)[-1]
        return name if name in schemas else ""

    documented = [(method, path, op) for method, path, op in operations(spec) if (method, path) != ("get", "/metrics")]
    assert len(documented) >= 48  # the api-v1 routes and the portal's
    for method, path, op in documented:
        success = [status for status in op["responses"] if status.startswith("2")]
        assert len(success) == 1, (method, path, success)  # status_code= and responses=ok(..., status) agree
        response = op["responses"][success[0]]
        if success[0] == "204":
            assert "content" not in response, (method, path)
            continue
        if (method, path) == ("get", "/portal/{token}/offer-letter"):  # the offer letter's bytes
            assert set(response["content"]) == {"application/pdf"}
            continue
        if (method, path) == ("get", "/v1/documents/{document_id}"):  # a download: the file's bytes, by its type
            assert set(response["content"]) == {"application/pdf", "text/plain", "application/vnd."
                                                "openxmlformats-officedocument.wordprocessingml.document"}
            continue
        # A route added without `responses=ok(Model)` gets FastAPI's empty schema: say what it answers.
        assert named_model(response["content"]["application/json"]["schema"]), (method, path)


def test_errors_are_described_in_api_v1s_shape_not_fastapis(spec):
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert set(schemas["Error"]["required"]) == {"error"}
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message"}
    for method, path, op in operations(spec):
        for status, response in op["responses"].items():
            if status[0] in "45":
                schema = response["content"]["application/json"]["schema"]
                assert schema["$ref"].rsplit("/", 1)[1] in ("Error", "NotReady"), (method, path, status)
        if "requestBody" in op:
            assert {"413", "422"} <= set(op["responses"]), (method, path)


def test_bearer_auth_is_a_security_scheme_not_a_header_parameter(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "description": "An API key: `Authorization: Bearer <key>`"}
    for method, path, op in operations(spec):
        assert all(p["name"].lower() != "authorization" for p in op.get("parameters", [])), (method, path)
        if path.startswith("/v1/") and not path.startswith("/v1/public/"):  # the public jobs API takes no key
            assert op["security"] == [{"bearerAuth": []}] and {"401", "403"} <= set(op["responses"]), (method, path)
        else:
            assert "security" not in op, (method, path)


def test_free_query_strings_and_headers_are_bounded(spec):
    for method, path, op in operations(spec):
        for param in op.get("parameters", []):
            if param["in"] in ("query", "header"):
                options = param["schema"].get("anyOf", [param["schema"]])
                for option in options:
                    if option.get("type") == "string":
                        assert "maxLength" in option or "enum" in option, (method, path, param["name"])
                    if option.get("type") == "integer":
                        assert "maximum" in option, (method, path, param["name"])


def test_every_string_array_and_map_of_a_request_body_is_bounded(spec):
    schemas = spec["components"]["schemas"]
    unbounded = []

    def walk(schema, where, seen=()):
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            if name not in seen:
                walk(schemas[name], name, (*seen, name))
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for option in schema.get(key, []):
                walk(option, where, seen)
        kind = schema.get("type")
        if kind == "string" and not ({"maxLength", "enum", "const"} & set(schema)
                                     or schema.get("format") in ("date-time", "email")):
            unbounded.append(where)
        if kind == "array":
            if "maxItems" not in schema:
                unbounded.append(where)
            walk(schema.get("items", {}), f"{where}[]", seen)
        if kind == "object":
            for name, prop in schema.get("properties", {}).items():
                walk(prop, f"{where}.{name}", seen)
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) or schema.get("patternProperties"):
                if "maxProperties" not in schema:
                    unbounded.append(where)
                for value in [extra] if isinstance(extra, dict) else schema["patternProperties"].values():
                    walk(value, f"{where}{{}}", seen)

    for method, path, op in operations(spec):
        for content in op.get("requestBody", {}).get("content", {}).values():  # JSON, or a multipart form
            walk(content["schema"], f"{method} {path}")
    assert unbounded == []
