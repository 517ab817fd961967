"""A Sketchpad's blob storage that forgets what no event claimed.

Gradio's canvas posts its background, layer and composite to the server after every stroke (`accept_blobs`,
stored in the component's `blob_storage` under the stroke's id) and its change event is meant to name that
id; Gradio drops the blobs when an event uses them. Gradio 6's page mostly sends the stroke as uploaded
files instead (its image-id binding lags the event), so those blobs were never claimed: three PNGs, about
32 kB, per stroke kept for the life of the process, in one dict shared by every visitor (measured in-process,
CHANGELOG round 24). Here an entry is dropped once it is older than BLOB_LIFETIME_S, or when more than
MOST_BLOBS wait; an event names its blobs within a second of posting them.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from typing import Any

BLOB_LIFETIME_S = 60.0
"""How long a stroke's posted blobs wait for the event that names them (it follows within a second)."""
MOST_BLOBS = 1000
"""At most this many strokes' blobs wait at once (a few MB of PNGs): a flood of posts cannot grow it further."""


class ExpiringBlobs(dict):
    """A dict of stroke id -> Gradio's EditorDataBlobs whose entries go BLOB_LIFETIME_S after their first post.

    Gradio reads it with get, `in` and pop and writes it with item assignment (one per posted image, up
    to three per stroke); every write also drops what has expired. Gradio posts from worker threads and
    reads on others: the bookkeeping is under a lock, each dict operation is one call into C.
    """

    def __init__(
        self,
        lifetime_s: float = BLOB_LIFETIME_S,
        most: int = MOST_BLOBS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.lifetime_s, self.most, self.clock = lifetime_s, most, clock
        self.first_posted: collections.OrderedDict[Any, float] = collections.OrderedDict()
        self.lock = threading.Lock()

    def __setitem__(self, key: Any, value: Any) -> None:
        with self.lock:
            now = self.clock()
            self.first_posted.setdefault(key, now)
            super().__setitem__(key, value)
            self.forget_expired(now)

    def pop(self, key: Any, *default: Any) -> Any:
        with self.lock:
            self.first_posted.pop(key, None)
            return super().pop(key, *default)

    def __delitem__(self, key: Any) -> None:
        with self.lock:
            self.first_posted.pop(key, None)
            super().__delitem__(key)

    def forget_expired(self, now: float) -> None:
        """Drop the oldest entries while they are older than the lifetime or too many wait (lock held)."""
        while self.first_posted:
            oldest, posted = next(iter(self.first_posted.items()))
            if now - posted <= self.lifetime_s and len(self.first_posted) <= self.most:
                return
            del self.first_posted[oldest]
            super().pop(oldest, None)
