"""Who may use the app: logins read from a file or the environment, and the same check on every door.

Gradio's `auth` guards the page, its events and `/gradio_api/call/...`, but not the MCP endpoint it
mounts beside them (`/gradio_api/mcp/...`), nor routes the app adds itself. `RequireLogin` closes
those: a request there needs Gradio's login cookie (a browser that signed in on the page) or HTTP
Basic credentials (a program: curl -u, an MCP client), checked by the same `Logins`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
from collections.abc import Iterable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

AUTH_VARIABLE = "DIGITS_AUTH"
"""Environment variable holding USER:PASSWORD logins, one per line."""


class CredentialsError(ValueError):
    """A login file or variable that cannot be used; the message says where and why."""


def parse_logins(text: str, where: str) -> dict[str, str]:
    """USER:PASSWORD lines (blank lines and # comments ignored; a password may hold colons) -> {user: password}."""
    logins = {}
    for number, line in enumerate(text.splitlines(), 1):
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        user, colon, password = entry.partition(":")
        if not colon or not user or not password:
            raise CredentialsError(f"{where}: line {number} is not USER:PASSWORD")
        logins[user] = password
    if not logins:
        raise CredentialsError(f"{where}: no USER:PASSWORD login in it")
    return logins


class Logins:
    """The accepted logins; compares passwords in constant time."""

    def __init__(self, logins: dict[str, str]) -> None:
        self._logins = dict(logins)

    def __repr__(self) -> str:  # Never the passwords, even in a traceback.
        return f"Logins({len(self._logins)} users)"

    def __call__(self, user: str, password: str) -> bool:
        expected = self._logins.get(user)
        return expected is not None and hmac.compare_digest(expected.encode(), password.encode())

    @classmethod
    def configured(
        cls, auth: str | None, auth_file: Path | None, environ: dict[str, str] | None = None
    ) -> Logins | None:
        """The logins from --auth, else --auth-file, else $DIGITS_AUTH; None when none is set (an open app)."""
        environ = os.environ if environ is None else environ
        if auth:
            return cls(parse_logins(auth, "--auth"))
        if auth_file is not None:
            try:
                text = Path(auth_file).read_text()
            except OSError as error:
                raise CredentialsError(f"--auth-file {auth_file}: cannot read it ({error.strerror})") from error
            return cls(parse_logins(text, f"--auth-file {auth_file}"))
        if environ.get(AUTH_VARIABLE):
            return cls(parse_logins(environ[AUTH_VARIABLE], f"${AUTH_VARIABLE}"))
        return None


class RequireLogin:
    """ASGI middleware: requests under `prefixes` need Gradio's login cookie or HTTP Basic credentials."""

    def __init__(self, app: ASGIApp, logins: Logins, prefixes: Iterable[str]) -> None:
        self.app = app
        self.logins = logins
        self.prefixes = tuple(prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and scope["path"].startswith(self.prefixes):
            request = Request(scope)
            if not (signed_in(request) or self._basic(request)):
                response = JSONResponse(
                    {"error": "this app asks for a login: sign in on the page, or send HTTP Basic credentials"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="digit recognizer"'},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _basic(self, request: Request) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return self.logins(user, password)


def signed_in(request: Request) -> bool:
    """Whether the request carries Gradio's own session cookie from the page's login form."""
    gradio_app = request.scope.get("app")
    tokens, cookie_id = getattr(gradio_app, "tokens", {}), getattr(gradio_app, "cookie_id", None)
    if cookie_id is None:
        return False
    for name in (f"access-token-{cookie_id}", f"access-token-unsecure-{cookie_id}"):
        if request.cookies.get(name) in tokens:
            return True
    return False
