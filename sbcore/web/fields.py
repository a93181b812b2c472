"""Request fields from the three body encodings the contract allows."""

import json

import falcon

from ..errors import ApiError


def bearer_token(req):
    header = req.get_header("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def read_fields(req):
    """A dict of the request's fields: JSON object, urlencoded form or multipart form.
    Multipart file parts arrive as ``{"filename", "content_type", "data"}``."""
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
            for part in req.get_media():
                if part.filename:
                    fields[part.name] = {"filename": part.secure_filename,
                                         "content_type": part.content_type,
                                         "data": part.stream.read()}
                else:
                    fields[part.name] = part.text
        except (falcon.MediaMalformedError, falcon.HTTPError):
            raise ApiError("invalid-body", "The multipart body could not be read.", 400)
    elif req.content_length:
        raise ApiError("unsupported-body", "Send JSON, a urlencoded form or multipart form data.", 415)
    return fields


def last_values(form):
    """A repeated form key keeps its last value, as PHP does."""
    return {key: value[-1] if isinstance(value, list) else value for key, value in form.items()}


def dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
