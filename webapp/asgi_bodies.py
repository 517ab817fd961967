"""A request's body read by ASGI middleware that may still hand the request on, body and all."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import Message, Receive, Scope


@dataclass
class Body:
    """data: the whole body, or None when it was not read (declared over the limit, or the client went away);
    receive: what the app handed the request next calls instead of the server's `receive`."""

    data: bytes | None
    receive: Receive


async def read_body(scope: Scope, receive: Receive, limit: int) -> Body:
    """The body of an HTTP request that declares at most `limit` bytes (unread above it)."""
    if int(dict(scope["headers"]).get(b"content-length", b"0") or 0) > limit:
        return Body(data=None, receive=receive)
    body, more = b"", True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return Body(data=None, receive=replay([message], receive))
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return Body(data=body, receive=replay([{"type": "http.request", "body": body, "more_body": False}], receive))


def replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive callable that first hands out `messages`, then defers to the real one (a disconnect)."""
    pending = list(messages)

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
