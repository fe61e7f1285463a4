"""Which callback URL a submission's completion webhook goes to: its own, or its key's."""

from __future__ import annotations

from reports_shared.errors import ConfigurationError
from reports_shared.webhooks import CallbackRefused, check_callback_url

from ..errors import InvalidRequest


class Callbacks:
    """The callback URL checks and the API keys' default callbacks (``AR_WEBHOOK_DEFAULTS``)."""

    def __init__(self, defaults: str, allow_private: bool) -> None:
        self.allow_private = allow_private
        self._defaults: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in defaults.split(","))):
            name, _, url = item.partition("=")
            try:
                self._defaults[name.strip()] = check_callback_url(url, allow_private)
            except CallbackRefused as exc:
                raise ConfigurationError(
                    f"AR_WEBHOOK_DEFAULTS: the item of '{name.strip()}' is refused: {exc}"
                ) from None

    def for_submission(self, given: str | None, owner: str) -> str:
        """The callback URL of a submission (``given``: its callbackUrl field, if sent);
        "" for none; 400 saying why for a URL the service will not call."""
        if given is None or not given.strip():
            return self._defaults.get(owner, "")
        try:
            return check_callback_url(given, self.allow_private)
        except CallbackRefused as exc:
            raise InvalidRequest(str(exc)) from None
