"""Request fields from the three body encodings the contract allows."""

import json

import falcon

from ..errors import ApiError
from ..registry import check_depth, too_deep


def bearer_token(req):
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# Fields that carry a credential: never read from the URL, where access logs, proxies and
# browser histories keep them.
CREDENTIAL_FIELDS = ("token", "login-cookie", "login_cookie", "session")


def refuse_url_credentials(req):
    """401 when the query string carries a credential (it is never taken from there)."""
    for name in CREDENTIAL_FIELDS:
        if name in req.params:
            raise ApiError("credential-in-url", f"'{name}' is never read from the URL; send it in "
                           "the body or as 'Authorization: Bearer …'.", 401)


def read_fields(req):
    """A dict of the request's fields: JSON object, urlencoded form or multipart form.
    Multipart file parts arrive as ``{"filename", "content_type", "data"}``. Arrays and
    objects nested deeper than ``registry.MAX_DEPTH`` answer 400 ``too-deep``."""
    refuse_url_credentials(req)
    try:
        fields = _read_fields(req)
    except RecursionError:
        raise too_deep()
    for name, value in fields.items():
        check_depth(value, name)
    return fields


def _read_fields(req):
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    fields = last_values(req.params)
    if content_type == "application/json":
        try:
            body = req.get_media()
        except falcon.MediaMalformedError:
            raise ApiError("invalid-body", "The body is not valid JSON.", 400)
        if body is None:
            return fields
        if not isinstance(body, dict):
            raise ApiError("invalid-body", "The JSON body must be an object.", 400)
        fields.update(body)
    elif content_type == "application/x-www-form-urlencoded":
        try:
            form = req.get_media() or {}
        except falcon.MediaMalformedError:
            raise ApiError("invalid-body", "The form body could not be read.", 400)
        fields.update(last_values(form))
    elif content_type == "multipart/form-data":
        try:
            parts = {}
            for part in req.get_media():
                if part.filename:
                    value = {"filename": part.secure_filename,
                             "content_type": part.content_type,
                             "data": part.stream.read()}
                else:
                    value = part.text
                parts.setdefault(part.name, []).append(value)
            fields.update(last_values(parts))
        except (falcon.MediaMalformedError, falcon.HTTPError):
            raise ApiError("invalid-body", "The multipart body could not be read.", 400)
    elif req.content_length:
        raise ApiError("unsupported-body", "Send JSON, a urlencoded form or multipart form data.", 415)
    return fields


def last_values(form):
    """Form fields as PHP reads them: a repeated plain key keeps its last value, and
    bracket keys build arrays and objects (``a[]=1&a[]=2``, ``extra[phone][]=…``), as
    ``http_build_query`` sends them."""
    fields = {}
    for key, value in form.items():
        values = value if isinstance(value, list) else [value]
        if "[" in key and key.endswith("]") and not key.startswith("["):
            for item in values:
                _put_bracketed(fields, key, item)
        else:
            fields[key] = values[-1]
    return {key: _php_arrays(value) for key, value in fields.items()}


def _put_bracketed(fields, key, value):
    head, _, rest = key.partition("[")
    path = [head] + rest[:-1].split("][")
    node = fields
    for index, part in enumerate(path[:-1]):
        child = node.get(part) if part else None
        if not isinstance(child, dict):
            child = {}
            node[part if part else _next_index(node)] = child
        node = child
    last = path[-1]
    node[last if last else _next_index(node)] = value


def _next_index(node):
    """PHP's ``[]``: the next integer key of the array, as a string key here."""
    numbers = [int(k) for k in node if isinstance(k, str) and k.isascii() and k.isdigit()]
    return str(max(numbers) + 1 if numbers else 0)


def _php_arrays(value):
    """A bracket-built dict whose keys are 0..n-1 is a list, as PHP's json_encode says."""
    if not isinstance(value, dict):
        return value
    value = {k: _php_arrays(v) for k, v in value.items()}
    if value and all(k.isascii() and k.isdigit() for k in value) and \
            sorted(int(k) for k in value) == list(range(len(value))):
        return [value[str(i)] for i in range(len(value))]
    return value


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
