"""to_mnist on photos of paper that show more than the digit: a notebook's printed lines, a desk round a note, a
shadow's sharp edge across the page. "Same prediction" is judged by the `reference` classifier (tests/conftest.py).
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from digit_data import families
from digit_data.drawing import upscale
from preprocessing import shadow, to_mnist


@pytest.mark.parametrize("squared", [False, True], ids=["ruled", "squared"])
def test_a_digit_on_a_notebooks_dark_lines_is_read_without_them(mnist, reference, squared):
    """Printed lines that cross the digit join its strokes; they reached the image's edges and the digit was read
    inside a grid (these 12 training digits: 10 and 6 read like the clean digit, ruled and squared; 11 and 11
    without the lines)."""
    digits = mnist.X_train[100:112]
    results = []
    for index, digit in enumerate(digits):
        ink = upscale(digit, 6)  # about 170 px high
        height, width = ink.shape[0] + 160, ink.shape[1] + 160
        paper = np.full((height, width), 235.0)
        offset = 7 * index % 40
        paper[offset::45][:, :] = 130.0  # dark grey rules 45 px apart, 1 px thick...
        paper[offset + 1 :: 45] = 130.0  # ...2 px
        if squared:
            paper[:, offset::45] = paper[:, offset + 1 :: 45] = 130.0
        paper[80 : 80 + ink.shape[0], 80 : 80 + ink.shape[1]] *= 1 - ink
        paper[80 : 80 + ink.shape[0], 80 : 80 + ink.shape[1]] += 40 * ink
        photo = Image.fromarray(paper.astype(np.uint8)).rotate(2.0 - index / 3, resample=Image.BILINEAR, fillcolor=235)
        buffer = io.BytesIO()
        photo.save(buffer, "JPEG", quality=85)
        results.append(to_mnist(buffer.getvalue()))
    assert all(result.found for result in results), [result.reason for result in results]
    boxes = np.array([result.box for result in results])
    assert (boxes[:, 2] - boxes[:, 0] < 0.8 * width).all() and (boxes[:, 3] - boxes[:, 1] < 0.8 * height).all()
    agreement = reference(np.stack([result.image for result in results])) == reference(digits / 255)
    assert agreement.mean() >= 11 / 12


def test_a_digit_on_a_note_lying_on_a_desk_is_read_without_the_desk(mnist, reference):
    """The desk round the note is darker than the paper: it was taken for ink along the border (a frame read as a
    0), or the note for a light digit on it. These 12 training digits on notes on desks (the `desk` family): 1 read
    like the clean digit before the note was looked for (`sheet.find_sheet`), 12 now, each boxed on the note."""
    digits = mnist.X_train[200:212]
    sources = [families.family_input("desk", digit, 3, index) for index, digit in enumerate(digits)]
    results = [to_mnist(source) for source in sources]
    assert all(result.found and result.inverted for result in results), [result.reason for result in results]
    for source, result in zip(sources, results, strict=True):
        width, height = Image.open(io.BytesIO(source)).size
        left, top, right, bottom = result.box
        assert right - left < 0.5 * width and bottom - top < 0.6 * height, (result.box, (width, height))
    agreement = reference(np.stack([result.image for result in results])) == reference(digits / 255)
    assert agreement.mean() >= 11 / 12


def test_a_digit_under_a_sharp_edged_shadow_is_read_on_even_paper(mnist, reference):
    """A phone's or a hand's shadow with a sharp edge: the shaded part was taken for ink (a band, a frame) or the lit
    part for a light digit on a dark ground. These 12 training digits in the `sharp-shadow` family: 6 read like
    the clean digit before the photo was evened out by its paper's level (`shadow.evened_out`), 11 now."""
    digits = mnist.X_train[300:312]
    sources = [families.family_input("sharp-shadow", digit, 3, index) for index, digit in enumerate(digits)]
    results = [to_mnist(source) for source in sources]
    assert all(result.found for result in results), [result.reason for result in results]
    agreement = reference(np.stack([result.image for result in results])) == reference(digits / 255)
    assert agreement.mean() >= 10 / 12


def test_a_digit_on_a_note_that_crosses_the_border_is_read_without_the_desk_there(mnist, reference, monkeypatch):
    """Where the note runs off the photo, the note is not found whole (`sheet.note_alone`), and on the evened photo
    the desk on the border is found with the digit: its pieces on the border are painted over and the digit looked
    for again (`shadow.without_border_pieces`). These 10 are the desk photos of training digits 200-799 where that
    happens: 2 read like the clean digit without it, 9 now."""
    indices = [217, 251, 286, 321, 425, 432, 532, 561, 606, 662]
    digits = mnist.X_train[indices]
    sources = [families.family_input("desk", mnist.X_train[index], 3, index - 200) for index in indices]
    clean = reference(digits / 255)

    results = [to_mnist(source) for source in sources]
    monkeypatch.setattr(shadow, "without_border_pieces", lambda gray, found: None)
    before = [to_mnist(source) for source in sources]

    assert all(result.found and result.inverted for result in results), [result.reason for result in results]
    assert (reference(np.stack([result.image for result in results])) == clean).sum() >= 8
    images_before = [result.image if result.found else np.zeros((28, 28), np.float32) for result in before]
    assert (reference(np.stack(images_before)) == clean).sum() <= 3
