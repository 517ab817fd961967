"""What the page shows around corrections ("Wrong? I meant: 0 1 ... 9"): pure functions, no events.

The lead wires the ten buttons to digit_models.corrections.store; these functions give the
texts and the "Your corrections" gallery items.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from digit_models.corrections import Correction
from digit_models.names import SHORT_NAMES

PROMPT = "Wrong? I meant:"
BUTTON_LABELS = tuple(str(digit) for digit in range(10))
GALLERY_SCALE = 4
"""Thumbnails of 112 px: three in a row fit a 390 px screen."""
GALLERY_LIMIT = 24
"""The newest corrections shown; the rest stay in the database for `python -m training corrections`."""

DISABLED = "Corrections are switched off on this server (--no-corrections)."
NOTHING_TO_CORRECT = "Draw or upload a digit first: there is no answer to correct yet."
EMPTY_GALLERY = "No corrections yet. When the models get your digit wrong, press the digit you meant."


def saved_message(meant: int, result: Mapping[str, Any]) -> str:
    """Thanks, naming what the models said, e.g. "Saved: you meant 7; the ensemble said 1 (KNN said 7)."""
    said = result.get("digit")
    agreeing = [
        SHORT_NAMES.get(key, key) for key, values in (result.get("models") or {}).items() if np.argmax(values) == meant
    ]
    if said == meant:
        text = f"Saved: you meant {meant}, as the ensemble said."
    else:
        text = f"Saved: you meant {meant}; the ensemble said {said}."
        if agreeing:
            text = text[:-1] + f" ({', '.join(agreeing)} said {meant})."
    return text + " Thank you: corrections like this one show where the models fail."


def personal_note(counts: Sequence[int]) -> str:
    """What the page says about this session's examples, from how many of each digit (10,) it knows."""
    total = int(sum(counts))
    if total == 0:
        return (
            "Each correction also teaches this page your handwriting: the next answers take your corrected "
            "digits into account. They stay in this browser tab only and are gone when you close it."
        )
    known = ", ".join(f"{digit} ×{count}" for digit, count in enumerate(counts) if count)
    digits = "digit" if total == 1 else "digits"
    return (
        f"**The page knows {total} of your {digits}** ({known}) and adapts its answers to your handwriting. "
        "They stay in this browser tab only (other visitors never see them) and go when you close it or press "
        "*Forget my digits*."
    )


def error_message(error: Exception) -> str:
    """The text for a correction that could not be saved (CorrectionsError); the app keeps serving."""
    return f"Your correction could not be saved: {error}. Everything else keeps working."


def gallery_items(corrections: Sequence[Correction], *, limit: int = GALLERY_LIMIT) -> list[tuple[np.ndarray, str]]:
    """(thumbnail uint8 (112, 112) dark ink on white, caption) for the newest corrections, newest first."""
    items = []
    for correction in list(corrections)[:limit]:
        pixels = np.round(np.clip(correction.image, 0, 1) * 255).astype(np.uint8)
        thumbnail = 255 - np.repeat(np.repeat(pixels, GALLERY_SCALE, 0), GALLERY_SCALE, 1)
        items.append((thumbnail, caption(correction)))
    return items


def caption(correction: Correction) -> str:
    """E.g. "meant 7 · ensemble said 1 · KNN 7, Forest 1, SGD 1, CNN 1"."""
    digits = correction.model_digits()
    said = digits.pop("ensemble", None)
    members = ", ".join(f"{SHORT_NAMES.get(key, key)} {digit}" for key, digit in digits.items())
    parts = [f"meant {correction.meant}"]
    if said is not None:
        parts.append(f"ensemble said {said}")
    if members:
        parts.append(members)
    return " · ".join(parts)


def summary(corrections: Sequence[Correction]) -> str:
    """One line over the gallery: how many corrections and how often the ensemble had been wrong."""
    if not corrections:
        return EMPTY_GALLERY
    wrong = sum(correction.model_digits().get("ensemble") not in (None, correction.meant) for correction in corrections)
    return f"{len(corrections)} corrections; the ensemble had been wrong on {wrong}."
