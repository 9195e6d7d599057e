"""The one place that reads HX-* request headers and writes HX-* response headers."""

import json

from flask import render_template, request
from htmx_flask import make_response


def is_partial_request() -> bool:
    """True for an HTMX request that swaps a fragment (boosted requests want the whole page)."""
    return bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request


def is_htmx() -> bool:
    return bool(request.htmx)


def render_page_or_partial(page_template: str, partial_template: str, status: int = 200, **context):
    """Render the fragment for an HTMX swap, else the whole page (which includes that fragment)."""
    template = partial_template if is_partial_request() else page_template
    response = make_response(render_template(template, **context), status)
    response.vary.add("HX-Request")
    return response


def hx_redirect(url: str):
    """Send the browser to `url`: HX-Redirect for HTMX, a plain 303 otherwise."""
    if request.htmx:
        return make_response("", 204, redirect=url)
    return make_response("", 303, {"Location": url})


def hx_trigger(response, event: str, detail=None):
    """Add an event to the response's HX-Trigger header, merging with any already there."""
    current = response.headers.get("HX-Trigger")
    events = json.loads(current) if current and current.startswith("{") else ({current: None} if current else {})
    events[event] = detail
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def hx_event(event: str, detail=None):
    """An empty answer (nothing to swap) that fires `event` on the page, for listeners to refresh."""
    return hx_trigger(make_response("", 204), event, detail)


def hx_event_or_redirect(event: str, url: str):
    """After a change made from a list: fire `event` for HTMX (the list reloads itself), else go to `url`."""
    return hx_event(event) if request.htmx else hx_redirect(url)


def hx_retarget(response, selector: str, swap: str = "outerHTML"):
    """Swap this answer into `selector` (an error status would otherwise go to #flashes, see base.html)."""
    response.headers["HX-Retarget"] = selector
    response.headers["HX-Reswap"] = swap
    return response


def hx_refusal_in_place(response, selector: str):
    """Swap a refusal (an error status other than 422's form errors) into `selector`, where the buttons were,
    rather than into the flashes."""
    if response.status_code >= 400 and response.status_code != 422:
        hx_retarget(response, selector)
    return response
