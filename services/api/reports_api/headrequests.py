"""HEAD for every resource that answers GET (RFC 9110 §9.3.2), not a 405.

Litestar routes HEAD only to handlers declared for it (the download, health and tus
routes have theirs). Every other GET route is answered here as its GET would be, headers
and all, without the body: a monitor or a link checker that asks HEAD of the status, the
web page or the API's description gets what a GET gets, not 405.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.enums import ScopeType
from litestar.exceptions import MethodNotAllowedException, NotFoundException
from litestar.types import HTTPScope, Message, Receive, Scope, Send
from litestar.utils import normalize_path

_ROUTING_ERRORS = (MethodNotAllowedException, NotFoundException)
#: Scope key set on a HEAD served as its GET, so that what counts requests (the metrics)
#: still counts it as the HEAD it was.
HEAD_AS_GET = "reports_api.head_as_get"


class HeadAsGet:
    """ASGI wrapper of the app: a HEAD the app has no handler for runs its route's GET, and
    the answer ends once its status and headers are sent."""

    def __init__(self, app: Litestar) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request; a HEAD that only a GET handler matches is that GET's headers."""
        if (
            scope["type"] != ScopeType.HTTP
            or scope["method"] != "HEAD"
            or not self._get_only(scope)
        ):
            await self.app(scope, receive, send)
            return
        answered = False

        async def headers_only(message: Message) -> None:
            nonlocal answered
            if answered or message["type"] != "http.response.start":
                return
            answered = True
            await send(message)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        # Once the answer is complete the server tells the app the client is gone, so a
        # stream (the job's events) stops there rather than run on for nobody.
        as_get: HTTPScope = {**scope, "method": "GET"}
        as_get[HEAD_AS_GET] = True  # type: ignore[literal-required]
        await self.app(as_get, receive, headers_only)

    def _get_only(self, scope: Scope) -> bool:
        """Whether the request's path has a GET handler and no HEAD handler."""
        path = scope["path"]
        if root_path := scope.get("root_path", ""):
            path = path.split(root_path, maxsplit=1)[-1]
        path = normalize_path(path)
        route = self.app.asgi_router.handle_routing
        try:
            route(path=path, method="HEAD")
            return False
        except _ROUTING_ERRORS:
            pass
        try:
            route(path=path, method="GET")
        except _ROUTING_ERRORS:
            return False
        return True
