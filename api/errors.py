"""Error bodies in each surface's documented shape, chosen by the surface a request belongs to."""

from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

Shaper = Callable[[int, str, dict[str, list[str]], str], dict]

CODES = {400: "BAD_REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND",
         405: "METHOD_NOT_ALLOWED", 409: "CONFLICT", 413: "PAYLOAD_TOO_LARGE", 422: "VALIDATION_ERROR",
         429: "RATE_LIMITED", 500: "SERVER_ERROR", 503: "SERVICE_UNAVAILABLE"}


@dataclass(frozen=True)
class Surface:
    """One documented API: its name, its error body and the status it uses for invalid input."""

    name: str
    title: str
    shape: Shaper
    validation_status: int = 400


_BY_BLUEPRINT: dict[str, Surface] = {}
# For requests no route matched: the surface whose paths they resemble (longest prefix wins).
_BY_PREFIX: dict[str, Surface] = {}


def register_blueprint_surface(blueprint_name: str, surface: Surface) -> None:
    _BY_BLUEPRINT[blueprint_name] = surface


def register_prefix(prefix: str, surface: Surface) -> None:
    _BY_PREFIX[prefix] = surface


def current_surface() -> Surface | None:
    if request.blueprint in _BY_BLUEPRINT:
        return _BY_BLUEPRINT[request.blueprint]
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed):
        # The path exists under other methods: the surface is whoever routes it.
        adapter = current_app.url_map.bind_to_environ(request.environ)
        for method in exc.valid_methods or ():
            try:
                endpoint, _ = adapter.match(method=method)
            except HTTPException:
                continue
            if surface := _BY_BLUEPRINT.get(endpoint.rsplit(".", 1)[0]):
                return surface
    matches = [prefix for prefix in _BY_PREFIX if request.path.startswith(prefix)]
    return _BY_PREFIX[max(matches, key=len)] if matches else None


def api_error_response(status: int, message: str, errors: dict | None = None, code: str | None = None):
    """The surface's error response, or None when the request is not an API request."""
    surface = current_surface()
    if surface is None:
        return None
    code = code or CODES.get(status, "ERROR")
    if code == "VALIDATION_ERROR":
        status = surface.validation_status  # webargs says 422; most documents say 400 for bad input
    names = g.get("field_names", {})
    errors = {names.get(field, field): messages for field, messages in (errors or {}).items()}
    body = surface.shape(status, message, errors, code)
    response = jsonify(body)
    response.status_code = status
    return response

