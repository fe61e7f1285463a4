"""The web page for business staff: ``/`` and ``/ui`` (plain HTML, CSS and JS, no build step)."""

from __future__ import annotations

from pathlib import Path

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.response import File
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp

#: index.html, app.js and styles.css, shipped inside the package (hatch includes them).
STATIC_DIR = Path(__file__).parent / "static"
#: Where the page and its files are served; index.html refers to its files under it.
UI_PATH = "/ui"

#: The page loads nothing but its own files and talks only to this api.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
#: Revalidate on each load (ETag / Last-Modified), so a new release is seen at once.
_CACHE = CacheControlHeader(no_cache=True)


def _secure(response: ASGIApp) -> ASGIApp:
    """Add the page's security headers to a static file response."""
    headers = getattr(response, "headers", None)
    if headers is not None:
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
    return response


@get("/", include_in_schema=False, cache_control=_CACHE)
async def home() -> File:
    """The page at the site's root."""
    return File(
        STATIC_DIR / "index.html",
        content_disposition_type="inline",
        media_type="text/html; charset=utf-8",
        headers=SECURITY_HEADERS,
    )


def ui_router() -> Router:
    """``/ui`` (the page) and ``/ui/<file>`` (its script and style sheet)."""
    return create_static_files_router(
        path=UI_PATH,
        directories=[STATIC_DIR],
        html_mode=True,
        name="ui",
        cache_control=_CACHE,
        after_request=_secure,
    )
