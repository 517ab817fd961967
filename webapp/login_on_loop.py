"""Gradio's login check, run on the server's event loop instead of a worker thread.

Gradio guards its routes (upload, queue join, event stream, files, component server, ...) with
`login_check`, a plain function. FastAPI runs a plain-function dependency in a worker thread, so every
request to those routes, three per `/classify` call and some 25 per stroke on the page, hands Python's
lock (the GIL) to a thread and back for a check that reads one dict: under 20 clients those hops were
about 5% of the time the app held the GIL (docs/deployment.md, "Preprocessing on the event loop").
`run_login_check_on_loop` gives every such route a coroutine function that calls the same `login_check`:
the same check, the same 401 and message, no thread. It runs at the app's start-up (webapp.page.start_up),
after Gradio has added its routes and before the first request.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

LOGIN_CHECK_PATH = "/gradio_api/login_check"
"""Gradio serves `login_check` itself at this path: that route's endpoint is the function to replace."""


def run_login_check_on_loop(app: FastAPI) -> int:
    """Replace, in every route of `app`, the dependency on Gradio's `login_check` by a coroutine function
    calling it; returns how many routes changed (0 when this Gradio has no such route)."""
    check = gradio_login_check(app)
    if check is None or inspect.iscoroutinefunction(check):
        return 0
    on_loop = awaiting(check)
    changed = 0
    for route in app.routes:
        if isinstance(route, APIRoute) and route.endpoint is not check:
            changed += _replace_calls(route.dependant, check, on_loop)
    return changed


def gradio_login_check(app: FastAPI) -> Callable[..., Any] | None:
    """The function Gradio serves at LOGIN_CHECK_PATH, which its routes depend on; None without one."""
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path == LOGIN_CHECK_PATH:
            return route.endpoint
    return None


def awaiting(check: Callable[..., Any]) -> Callable[..., Any]:
    """A coroutine function that calls `check` on the loop with what FastAPI solved for it (the current
    user): it reads a dict, and raises the same HTTPException. It carries `check`'s signature for anything
    that inspects it; the routes keep the sub-dependencies already solved for `check` (`_replace_calls`)."""

    async def checked(**values: Any) -> Any:
        return check(**values)

    checked.__signature__ = inspect.signature(check)  # type: ignore[attr-defined]
    checked.__name__ = f"{check.__name__}_on_loop"
    return checked


def _replace_calls(dependant: Dependant, old: Callable[..., Any], new: Callable[..., Any]) -> int:
    """Swap `old` for `new` among `dependant`'s direct dependencies (in place: the route's request handler
    holds this very Dependant); returns whether any was swapped."""
    swapped = 0
    for index, dependency in enumerate(dependant.dependencies):
        if dependency.call is old:
            # A fresh Dependant: FastAPI caches whether a call is a coroutine function on the instance.
            dependant.dependencies[index] = dataclasses.replace(dependency, call=new)
            swapped = 1
    return swapped
