"""``GET /openapi.json`` (OpenAPI 3.1) and ``GET /docs``, generated from the registry.

One operation per registered function (the core's and every installed plugin's) at
``POST /api/{function}``: its arguments as a JSON body, with types, required and defaults
from the type hints; the answer envelope; the error codes; bearer (admin token) security.
The reference's sentences come from ``reference_docs.json`` (tools/make_reference.py)."""

import json
import os
import types
import typing

import falcon
import jinja2

from .. import __version__
from ..registry import INT_MAX, INT_MIN, IdList, Json, canonical_functions

HERE = os.path.dirname(__file__)
INTEGER = {"type": "integer", "format": "int64", "minimum": INT_MIN, "maximum": INT_MAX}
SCALARS = {
    bool: {"type": "boolean"},
    int: INTEGER,
    str: {"type": "string"},
    list: {"type": "array"},
    dict: {"type": "object"},
    IdList: {"type": "array", "items": INTEGER},
    Json: {},
    typing.Any: {},
}
# The failures of the /api envelope: status -> what it means (see the README's Web API).
ERRORS = {
    "400": "a missing or invalid argument",
    "401": "a missing or wrong admin token",
    "404": "no such function (the message names the plugin that provides it), or no such item",
    "409": "a conflict with what exists (a duplicate email…)",
    "413": "the body is too large",
    "415": "a body that is not JSON, a form or multipart",
    "502": "the outside service the function calls failed",
}


def load_reference_docs():
    try:
        with open(os.path.join(HERE, "reference_docs.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {}


def schema_for(annotation):
    """The JSON Schema of a parameter's type hint (``A | B`` as anyOf)."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        options = [schema_for(option) for option in typing.get_args(annotation)]
        if any(option == {} for option in options):
            return {}
        return {"anyOf": options}
    if annotation is type(None):
        return {"type": "null"}
    return dict(SCALARS.get(annotation, {}))


def json_default(value):
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return None
    return value


def operation(function, docs):
    reference = docs.get(function.name, {})
    argument_docs = reference.get("arguments", {})
    properties, required = {}, []
    for param in function.parameters:
        schema = schema_for(param.annotation)
        sentence = argument_docs.get(param.name)
        if sentence:
            schema["description"] = sentence
        if param.required:
            required.append(param.name)
        elif json_default(param.default) is not None:
            schema["default"] = param.default
        properties[param.name] = schema
    body = {"type": "object", "properties": properties}
    if required:
        body["required"] = required
    answer = {}
    if "example" in reference:
        answer["examples"] = [reference["example"]]
    summary = reference.get("description") or (function.fn.__doc__ or "").strip().split("\n")[0]
    responses = {"200": {"description": "success", "content": {"application/json": {"schema": {
        "type": "object", "required": ["success", "response"],
        "properties": {"success": {"const": True}, "response": answer}}}}}}
    for status in ERRORS:
        responses[status] = {"$ref": f"#/components/responses/Error{status}"}
    result = {
        "operationId": function.name,
        "summary": summary or function.name,
        "tags": [function.owner.removeprefix("sbcore.functions.").removeprefix("sbcore.")],
        "requestBody": {"required": bool(required),
                        "content": {"application/json": {"schema": body}}},
        "responses": responses,
        "x-sbcore-role": function.role,
    }
    if function.aliases:
        result["x-sbcore-aliases"] = list(function.aliases)
    return result


def document(core):
    """The OpenAPI 3.1 document of every function ``core`` serves."""
    docs = load_reference_docs()
    functions = canonical_functions(core.functions)
    return {
        "openapi": "3.1.0",
        "info": {"title": "sbcore Web API", "version": __version__,
                 "description": "The Support Board Web API served by sbcore. Every function is "
                 "also reachable as POST /api with the field 'function' and, in Support Board's "
                 "own envelope, as POST /include/api.php.",
                 "license": {"name": "MIT", "identifier": "MIT"}},
        "servers": [{"url": core.config.public_url}],
        "security": [{"adminToken": []}],
        "paths": {f"/api/{name}": {"post": operation(functions[name], docs)}
                  for name in sorted(functions)},
        "components": {
            "securitySchemes": {"adminToken": {
                "type": "http", "scheme": "bearer",
                "description": "An admin's token (`sbcore token` prints one)."}},
            "responses": {f"Error{status}": {
                "description": meaning,
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
                for status, meaning in ERRORS.items()},
            "schemas": {"Error": {
                "type": "object", "required": ["success", "response", "message"],
                "properties": {"success": {"const": False},
                               "response": {"type": "string", "description": "the error code"},
                               "message": {"type": "string"}}}},
        },
    }


class OpenApiResource:
    """``GET /openapi.json``: built once, the registry being fixed at start-up."""

    def __init__(self, core):
        self.core = core
        self._text = None

    def on_get(self, req, resp):
        if self._text is None:
            self._text = json.dumps(document(self.core), ensure_ascii=False)
        resp.content_type = "application/json"
        resp.text = self._text


PAGE = jinja2.Environment(loader=jinja2.PackageLoader("sbcore", "web/templates"),
                          autoescape=True).get_template("docs.html")


class DocsResource:
    """``GET /docs``: the same document as a page (server-rendered, no script, no CDN)."""

    def __init__(self, core):
        self.core = core
        self._html = None

    def on_get(self, req, resp):
        if self._html is None:
            spec = document(self.core)
            self._html = PAGE.render(spec=spec, operations=[
                (path.removeprefix("/api/"), item["post"]) for path, item in spec["paths"].items()])
        resp.content_type = falcon.MEDIA_HTML
        resp.set_header("Content-Security-Policy", "default-src 'none'; style-src 'self'")
        resp.text = self._html
