"""File responses (streamed exports, document downloads), shared by the portal and the API."""

from collections.abc import Iterator

from flask import Response, stream_with_context


def download(body: Iterator[bytes] | bytes, mimetype: str, filename: str, size: int | None = None) -> Response:
    """An attachment. An iterator is streamed with the request's context (and database session) kept for it."""
    streamed = not isinstance(body, bytes)
    # direct_passthrough: nothing after the view (the API request log) reads a streamed body into memory.
    response = Response(stream_with_context(body) if streamed else body, mimetype=mimetype,
                        direct_passthrough=streamed)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if size is not None:
        response.content_length = size
    return response

