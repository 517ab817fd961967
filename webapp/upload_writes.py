"""An upload's bytes written to its file where they arrive, not in a worker thread for each call.

Gradio's upload route (`/gradio_api/upload`, every `/classify` call and every drawing the page sends)
streams each file into a temporary file on disk (`gradio.route_utils.GradioUploadFile`). Starlette's
`UploadFile` hands every write, seek and close of a file that is not a SpooledTemporaryFile in memory
to a worker thread (`run_in_threadpool`): two hops per upload of a drawing (its one write, the seek
back), about 105 microseconds of CPU each, measured in-process, for a write of some 30 KB into the page
cache that takes a few microseconds. Here Gradio's upload files are treated as Starlette treats files in
memory: written, sought and closed on the event loop. The largest upload the app accepts
(preprocessing.MAX_INPUT_BYTES) arrives in chunks of the request's body, each written as it comes.
"""

from __future__ import annotations

from gradio import route_utils
from starlette.datastructures import UploadFile


def write_uploads_on_loop() -> bool:
    """Make Gradio's upload files write, seek and close without a worker thread; returns whether this
    Starlette and Gradio have the switch (`UploadFile._in_memory`) and the class it is set on."""
    upload_file = getattr(route_utils, "GradioUploadFile", None)
    if upload_file is None or not issubclass(upload_file, UploadFile) or "_in_memory" not in vars(UploadFile):
        return False
    upload_file._in_memory = property(lambda self: True)  # Starlette's test for "cheap: do it inline".
    return True
