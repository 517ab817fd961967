"""The "Why?" view and the corrections, bound to the loaded models: handlers for webapp.page.

Both work on the session's current answer (`Outputs.current`: the 28x28 the models saw and
classify's answer), so they never re-read or keep the person's upload.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np

from digit_models import corrections
from digit_models.base import DigitModel
from digit_models.explain import Explainer, explain_path, load_knn_rows, neighbour_images
from digit_models.personal import PersonalExamples
from webapp import corrections_view, explanation_view

WHY_PROMPT = "Draw or upload a digit first: then *Why?* shows how each model decided."


class Feedback:
    """Explanations on demand and corrections for one app.

    models: key -> DigitModel as artifacts.load_models returns them; models_dir: their folder
    (for the KNN's map from fitted rows to MNIST indices); corrections_enabled: False with
    `--no-corrections`, when nothing is stored and the page says so.
    """

    def __init__(self, models: Mapping[str, DigitModel], models_dir: Path, *, corrections_enabled: bool = True) -> None:
        self.explainer = Explainer(models, knn_rows=load_knn_rows(models_dir))
        self.corrections_enabled = corrections_enabled
        # Integrated gradients run the CNN on a batch of its own; one explanation at a time keeps
        # a burst of "Why?" clicks from crowding out the per-stroke answers.
        self._explaining = threading.Lock()

    def __repr__(self) -> str:
        return f"Feedback({self.explainer!r}, corrections={'on' if self.corrections_enabled else 'off'})"

    def explain(self, current: Mapping[str, Any] | None) -> tuple[str, list[tuple[np.ndarray, str]]]:
        """The current answer -> (HTML: legend and the KNN's neighbours, gallery items: each model's map)."""
        if not current:
            return WHY_PROMPT, []
        with self._explaining:
            explanation = self.explainer.explain(current["image"])
        neighbours = explanation["models"].get("knn", {}).get("neighbours") or []
        strip = explanation_view.neighbours_html(explanation, neighbour_images(neighbours)) if neighbours else ""
        return explanation_view.legend_html() + strip, explanation_view.model_maps(explanation)

    def explain_file(self, path: str | None) -> dict[str, Any]:
        """Explain why each model reads the handwritten digit in one image as it does.

        The K-nearest neighbours model shows its nearest MNIST training digits; the random forest,
        the linear SGD model and the CNN each give a 28x28 saliency map over the image they saw.

        Args:
            path: the image file (PNG, JPEG, HEIC, WebP, ...) of one digit.

        Returns:
            {"digit": the ensemble's digit or null, "input": the 28x28 model input (floats 0-1),
            "models": {"knn": {"digit", "neighbours": [{"index", "label", "distance", "vote"}]},
            "rf" / "sgd" / "cnn": {"digit", "saliency": 28x28 floats, larger = counted more for
            that model's digit}}}. An unreadable file raises an error with the reason.
        """
        if not path:
            raise gr.Error("Send one image file (PNG, JPEG, HEIC, WebP, ...).", title="No image")
        with self._explaining:
            record = explain_path(self.explainer, path)
        if "error" in record:
            raise gr.Error(record["error"], title="Cannot read this image")
        record.pop("path")
        return record

    def correct(
        self,
        meant: int,
        current: Mapping[str, Any] | None,
        examples: PersonalExamples | None = None,
        mine: Sequence[corrections.Correction] = (),
    ) -> tuple[str, list, str, PersonalExamples, str, list[corrections.Correction]]:
        """A click on "I meant: `meant`" -> (message, gallery items, gallery summary, this session's examples
        with the drawing added, the note on them, this session's corrections newest first); never raises.

        mine: this browser session's corrections so far; "Your corrections" shows only these, never
        another visitor's. The drawing becomes one of the session's examples even when the store cannot
        save it: the person's correction is never lost for their own answers."""
        examples = examples if examples is not None else PersonalExamples.empty()
        mine = list(mine)
        if not self.corrections_enabled:
            return corrections_view.DISABLED, [], "", examples, personal_note(examples), mine
        if not current:
            message = corrections_view.NOTHING_TO_CORRECT
            return message, *gallery(mine), examples, personal_note(examples), mine
        result = current["result"]
        examples = examples.add(current["image"], meant)
        answers = corrections.answers_from_result(result)
        try:
            stored_id = corrections.store(current["image"], meant, answers)
        except corrections.CorrectionsError as error:
            gr.Warning(corrections_view.error_message(error))
            message, stored_id = corrections_view.error_message(error), 0
        else:
            message = corrections_view.saved_message(meant, result)
        made = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        image = np.asarray(current["image"], dtype=np.float32)
        mine = [corrections.Correction(stored_id, made, corrections.app_version(), meant, answers, image), *mine]
        mine = mine[: corrections_view.GALLERY_LIMIT]
        return message, *gallery(mine), examples, personal_note(examples), mine

    @staticmethod
    def forget(
        _examples: PersonalExamples | None = None, _mine: Sequence[corrections.Correction] = ()
    ) -> tuple[PersonalExamples, str, list, list, str]:
        """ "Forget my digits": this session's examples and its corrections list emptied (the stored,
        anonymous corrections stay on the server) -> (examples, note, corrections, gallery, summary)."""
        examples = PersonalExamples.empty()
        return examples, personal_note(examples), [], *gallery([])


def gallery(mine: Sequence[corrections.Correction]) -> tuple[list, str]:
    """("Your corrections" gallery items, newest first; a one-line summary) of this session's corrections."""
    return corrections_view.gallery_items(mine), corrections_view.summary(mine)


def personal_note(examples: PersonalExamples) -> str:
    """The page's note on this session's examples."""
    return corrections_view.personal_note(np.bincount(examples.labels, minlength=10).tolist())
