"""File responses (streamed exports, document downloads and previews), shared by the portal and the API."""

from collections.abc import Iterator

from flask import Response, stream_with_context


def download(body: Iterator[bytes] | bytes, mimetype: str, filename: str, size: int | None = None) -> Response:
    """An attachment. An iterator is streamed with the request's context (and database session) kept for it."""
    streamed = not isinstance(body, bytes)
    # direct_passthrough: nothing after the view (the API request log) reads a streamed body into memory.
    response = _private(Response(stream_with_context(body) if streamed else body, mimetype=mimetype,
                                 direct_passthrough=streamed), "attachment", filename)
    if size is not None:
        response.content_length = size
    return response


def inline(body: bytes, mimetype: str, filename: str) -> Response:
    """A file shown in the page (<img>, <iframe>); `mimetype` must come from its bytes, never its name."""
    return _private(Response(body, mimetype=mimetype), "inline", filename)


def _private(response: Response, disposition: str, filename: str) -> Response:
    response.headers.set("Content-Disposition", disposition, filename=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response

