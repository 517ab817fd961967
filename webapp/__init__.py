"""The web page: handlers bound to the loaded models, what each output shows, its CSS and JS as files.

The only package that imports gradio (with app.py). `page.build_demo` builds the Blocks.
"""

import os as _os

from webapp import uploads as _uploads

# Before gradio is imported anywhere below: Gradio reads its temporary folder at import time, and this
# app sweeps that folder (webapp.uploads), so it must be this app's own.
_os.environ.setdefault("GRADIO_TEMP_DIR", str(_uploads.temporary_folder()))
# Gradio's queue rebuilds a pandas summary of its last 10,000 events after every event (for its API
# page's timings): 3.2 ms of CPU per answer with 500 events behind it, 11 ms with 10,000, measured here.
# Every 100 events, over the last 1,000, keeps the page's figures and drops that cost.
_os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "100")
_os.environ.setdefault("GRADIO_ANALYTICS_MAX_EVENTS", "1000")
