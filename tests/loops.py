"""Coroutines awaited in tests, each on a fresh event loop in a thread of its own.

Playwright's synchronous API (the browser tests' session-wide browser) keeps an asyncio loop running in
the main thread for as long as it lives, and `asyncio.run` refuses to start another loop there. A
worker thread has no loop: the coroutine runs there as the server runs its handlers on its own loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def awaited(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """The coroutine's result (or its exception), run to the end on a new loop in a worker thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
