"""The browser that tests and benchmarks drive: Debian's Chromium, headless, through the PyPI playwright package.

Playwright never downloads a browser here (`playwright install` fails offline): it drives /usr/bin/chromium
with these flags, which keep it from reaching the network on its own.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGUMENTS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
