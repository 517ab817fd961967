"""The page's handlers, bound to the loaded models: an input (canvas, upload, MNIST digit) in, outputs out.

`webapp.page` lays out components and wires events to the methods of `Presenter`; what each
output shows is built in `webapp.rendering`. The HTTP API's `/classify` is a method here too.
"""

from __future__ import annotations

import functools
import io
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import anyio
import gradio as gr
import numpy as np
import threadpoolctl
from PIL import Image

import preprocessing
from digit_models import personal
from digit_models.base import DigitModel
from digit_models.classify import answer, no_digit_answer
from digit_models.personal import PersonalExamples
from preprocessing import png
from webapp.batching import SharedBatches
from webapp.rendering import (
    DRAW_PROMPT,
    UPLOAD_PROMPT,
    Outputs,
    build_outputs,
    empty_outputs,
    preprocessing_note,
    truth_note,
)


class Presenter:
    """The app's handlers, bound to loaded models.

    models: {"knn", "rf", "sgd", "cnn", "ensemble"} -> DigitModel (see digit_models.artifacts).
    load_test_digits: returns MNIST's test set as (uint8 (n, 28, 28) ink bright, int labels (n,));
        called once, on the first "random MNIST test digit" request.
    """

    def __init__(
        self,
        models: Mapping[str, DigitModel],
        *,
        load_test_digits: Callable[[], tuple[np.ndarray, np.ndarray]] | None = None,
        seed: int | None = None,
    ) -> None:
        self.models = models
        # The app sends the BLAS library (NumPy, SciPy, scikit-learn) a stream of tiny products.
        # With its default of one thread per core, the idle threads spin between calls: half a
        # core under 20 clients for nothing (1.5 -> 1.0 core, docs/deployment.md, "Where a request's time
        # goes"). One thread does each tiny product as fast. It holds for the whole process.
        threadpoolctl.threadpool_limits(limits=1, user_api="blas")
        self.predictor = SharedBatches(models)
        # One call now traces the CNN's graph, so the first person to draw does not wait for it.
        self.predictor.predict(np.zeros((28, 28), dtype=np.float32))
        # The MNIST digits a person's examples are measured against (digit_models.personal), ready before
        # the first correction: about a second's work, in the background.
        if "cnn" in models:
            threading.Thread(target=personal.reference_digits, args=(models["cnn"],), daemon=True).start()
        self.load_test_digits = load_test_digits or _load_mnist_test
        self.random = np.random.default_rng(seed)
        self._test_digits: tuple[np.ndarray, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"Presenter(models={sorted(self.models)})"

    # Inputs from the page.

    async def show_canvas(
        self, value: Mapping[str, Any] | None, examples: PersonalExamples | None = None
    ) -> tuple[Any, ...]:
        """Sketchpad value {background, layers, composite} (or None) -> outputs for the page.

        examples: this session's own digits (digit_models.personal), which the ensemble adapts to."""
        return (await self.show_image(value, empty_prompt=DRAW_PROMPT, examples=examples)).as_tuple()

    async def show_blank_canvas(self) -> tuple[Any, ...]:
        """The page after the canvas is cleared: the "draw a digit" prompt (on the loop: no thread for it)."""
        return empty_outputs(DRAW_PROMPT).as_tuple()

    async def show_upload(self, value: Any, examples: PersonalExamples | None = None) -> tuple[Any, ...]:
        """Uploaded, photographed or pasted image (path, PIL image or array; None when cleared) -> outputs."""
        return (await self.show_image(value, empty_prompt=UPLOAD_PROMPT, describe=True, examples=examples)).as_tuple()

    async def show_image(
        self, source: Any, *, empty_prompt: str, describe: bool = False, examples: PersonalExamples | None = None
    ) -> Outputs:
        """Preprocess any image and run every model on it; an unreadable file raises gr.Error. A coroutine: the
        page's events run it on the server's event loop, as `classify` (`read_image_on_loop`).

        describe: add a note saying where the digit was found and whether it was inverted.
        examples: this session's own digits, which the ensemble adapts to.
        """
        if is_empty(source):
            return empty_outputs(empty_prompt)
        prepared = await read_image_on_loop(source)
        if not prepared.found:
            return empty_outputs(empty_prompt, reason=prepared.reason, image=prepared.image)
        note = preprocessing_note(prepared) if describe else ""
        return build_outputs(answer(await self.predict_on_loop(prepared.image, examples)), prepared.image, note=note)

    def predict(self, image: np.ndarray, examples: PersonalExamples | None = None) -> dict[str, np.ndarray]:
        """float32 (28, 28) -> {key: float64 (1, 10)}, the ensemble's row adapted to a session's examples.

        The models run in the batches shared by every session; only the adaptation is the session's own."""
        probabilities = self.predictor.predict(image)
        if examples is None or len(examples) == 0:
            return probabilities
        adapted = personal.adapt(probabilities["ensemble"], image[None], examples, self.models["cnn"])
        return {**probabilities, "ensemble": adapted}

    async def predict_on_loop(
        self, image: np.ndarray, examples: PersonalExamples | None = None
    ) -> dict[str, np.ndarray]:
        """`predict` for a caller on the event loop: the models in the loop's shared batches, the adaptation
        (a few CNN features) in a worker thread."""
        probabilities = await self.predictor.predict_on_loop(image)
        if examples is None or len(examples) == 0:
            return probabilities
        adapted = await anyio.to_thread.run_sync(
            personal.adapt, probabilities["ensemble"], image[None], examples, self.models["cnn"]
        )
        return {**probabilities, "ensemble": adapted}

    def show_random_test_digit(self, examples: PersonalExamples | None = None) -> tuple[Any, ...]:
        """A random MNIST test digit (never seen in training): outputs plus its true label."""
        images, labels = self.test_digits()
        index = int(self.random.integers(len(images)))
        image = images[index].astype(np.float32) / 255
        result = answer(self.predict(image, examples))
        return build_outputs(result, image, note=truth_note(result, int(labels[index]), index)).as_tuple()

    def test_digits(self) -> tuple[np.ndarray, np.ndarray]:
        """MNIST's test images uint8 (n, 28, 28) and labels (n,), loaded on first use and kept."""
        if self._test_digits is None:
            self._test_digits = self.load_test_digits()
        return self._test_digits

    # The HTTP API.

    async def classify(self, path: str | None) -> dict[str, Any]:
        """Read the handwritten digit (0-9) in one image: a drawing, photo or scan, any format.

        Four models (K-nearest neighbours, random forest, linear SGD, CNN) and their ensemble
        each give ten probabilities; the image is first made MNIST-style (28x28, ink bright).

        Args:
            path: the image file (PNG, JPEG, HEIC, WebP, ...), one digit, dark ink on light or the reverse.

        Returns:
            {"digit": the ensemble's digit or null when the image holds no digit (then "message"
            says why), "confidence": its probability, "models": {"knn", "rf", "sgd", "cnn": ten
            probabilities each, for digits 0-9}, "ensemble": ten probabilities}. An unreadable file
            raises an error with the reason.
        """
        if not path:
            raise gr.Error("Send one image file (PNG, JPEG, HEIC, WebP, ...).", title="No image")
        prepared = await read_image_on_loop(path)
        if not prepared.found:
            return no_digit_answer(prepared.reason)
        return answer(await self.predictor.predict_on_loop(prepared.image))


def read_image(source: Any) -> preprocessing.Preprocessed:
    """to_mnist, with an unreadable file turned into the gr.Error the person sees."""
    try:
        return preprocessing.to_mnist(source)
    except preprocessing.ImageError as error:
        raise gr.Error(str(error), title="Cannot read this image") from error


async def read_image_on_loop(source: Any) -> preprocessing.Preprocessed:
    """read_image, run on the server's event loop for an image of at most LOOP_MAX_PIXELS, else in a worker thread.

    The app's Python runs one thread at a time (the GIL), and under load the event loop is busy with
    Gradio's requests. In a worker thread, each of preprocessing's NumPy, SciPy and Pillow calls that
    lets go of the GIL hands it to the loop, and the thread waits up to the loop's switch interval (5 ms)
    to go on: beside one busy thread of Python, 4.4 ms of preprocessing took 11.2 ms of its thread's CPU
    (`bench.gil_handover`; docs/deployment.md, "Preprocessing on the event loop"). On the loop it waits
    for nobody. A larger image, whose decoding alone may take
    tens of milliseconds, goes to a thread so that it holds up no one else's request meanwhile.
    """
    if _pixel_count(source) > LOOP_MAX_PIXELS:
        return await anyio.to_thread.run_sync(read_image, source)
    return read_image(source)


LOOP_MAX_PIXELS = 1_500_000
"""The largest image preprocessed on the event loop: any drawing on the canvas (a 1,000 x 1,000 phone
canvas is 1 MP), a scan or a photo reduced to a working size. Up to it, a drawing or photo takes 4-15 ms
on the loop; the slowest input found, 1.5 MP of salt-and-pepper noise ("only specks"), about 50 ms. A 12 MP
photo decodes for some 50 ms on its own."""


def _pixel_count(source: Any) -> int:
    """The pixels of an image: an array's or PIL image's own, a canvas value's parts' together, or what an
    image file's header states (nothing decoded; a PNG's from its first bytes, without Pillow). 0 when it
    is not an image that Pillow can open, which `read_image` then says (cheaply: it too stops at the header)."""
    if isinstance(source, Mapping):
        parts = [source.get("composite"), source.get("background"), *(source.get("layers") or [])]
        return sum(_pixel_count(part) for part in parts if part is not None)
    if isinstance(source, np.ndarray):
        return source.shape[0] * source.shape[1] if source.ndim >= 2 else source.size
    if isinstance(source, Image.Image):
        return source.width * source.height
    try:
        if isinstance(source, bytes):
            head = source[: png.HEADER_BYTES]
        else:
            with open(source, "rb") as file:
                head = file.read(png.HEADER_BYTES)
        if (size := png.header_size(head)) is not None:
            return size[0] * size[1]
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
            return image.width * image.height
    except Exception:
        return 0


def example_paths(folder: Path) -> list[str]:
    """Image files in the examples folder, sorted by name (PNG, JPEG, WebP)."""
    suffixes = {".png", ".jpg", ".jpeg", ".webp"}
    return sorted(str(path) for path in Path(folder).glob("*") if path.suffix.lower() in suffixes)


def is_empty(source: Any) -> bool:
    """An untouched or cleared Sketchpad sends {background: None, layers: [], composite: None}."""
    if source is None:
        return True
    if isinstance(source, Mapping):
        return source.get("composite") is None and source.get("background") is None and not source.get("layers")
    return False


@functools.cache
def _load_mnist_test() -> tuple[np.ndarray, np.ndarray]:
    from digit_data.mnist import load_mnist

    data = load_mnist()
    return data.X_test, data.y_test
