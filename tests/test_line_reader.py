"""The line reader of a number's segmentation: its line images and frame arithmetic (preprocessing.line_image),
its training groups (training.line_data) and the committed reader (digit_models.reading.line_reader) on groups of
held-out digits."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from preprocessing import line_image
from training import line_data


@pytest.fixture(scope="module")
def validation_digits() -> tuple[np.ndarray, np.ndarray]:
    """MNIST validation digits (held out of every model's training): uint8 (5000, 28, 28), labels."""
    from digit_data import mnist, splits

    data = mnist.load_mnist()
    _, validation = splits.train_validation_indices(data.y_train)
    return data.X_train[validation], data.y_train[validation]


def _softmax_rows(logits: np.ndarray) -> np.ndarray:
    exponentials = np.exp(logits - logits.max(axis=1, keepdims=True))
    return np.log(exponentials / exponentials.sum(axis=1, keepdims=True))


def test_one_digit_probability_sums_every_path_that_reads_that_digit():
    log_frames = _softmax_rows(np.random.default_rng(0).normal(size=(5, 11)) * 2)
    fast = line_image.one_digit_log_probability(log_frames, 1, 5)
    for digit in range(10):
        # Every labelling of frames 1..4 that collapses to exactly this digit: blanks, the digit repeated, blanks.
        total = 0.0
        for path in itertools.product((0, digit + 1), repeat=4):
            collapsed = [
                label for index, label in enumerate(path) if label and (index == 0 or path[index - 1] != label)
            ]
            if collapsed == [digit + 1]:
                total += np.exp(sum(log_frames[1 + frame, label] for frame, label in enumerate(path)))
        assert np.isclose(np.exp(fast[digit]), total)
    assert np.all(line_image.one_digit_log_probability(log_frames, 3, 3) == -np.inf)


def test_a_line_image_is_mnist_high_and_maps_columns_to_frames():
    ink = np.zeros((120, 300), np.float32)
    ink[:, 40:55] = 1.0  # a thick stroke between columns 40 and 55 of the crop
    line, scale = line_image.to_line_image(ink)
    assert line.shape[0] == line_image.LINE_HEIGHT and line.shape[1] % line_image.FRAME_STRIDE == 0
    inked_rows = np.flatnonzero(line.max(axis=1) > 0.5)
    assert (
        inked_rows[0] == line_image.LINE_MARGIN
        and inked_rows[-1] == line_image.LINE_HEIGHT - line_image.LINE_MARGIN - 1
    )
    inked_columns = np.flatnonzero(line.max(axis=0) > 0.5)
    # The stroke lands where the scale says (its width set to MNIST's stroke, a pixel or two either way).
    middle = line_image.LINE_MARGIN + scale * 47.5
    assert abs(inked_columns.mean() - middle) <= 1.5
    frames = line_image.LineFrames(np.zeros((line.shape[1] // line_image.FRAME_STRIDE, 11)), left=10.0, scale=scale)
    assert frames.frame(10.0) == round(line_image.LINE_MARGIN / line_image.FRAME_STRIDE)
    assert frames.frame(10_000.0) == len(frames.log_probabilities)  # clipped to the line's end


def test_training_groups_touch_and_carry_their_digits(validation_digits):
    images, labels = validation_digits
    rng = np.random.default_rng(0)
    lines, sequences = line_data.line_examples(images[:500], labels[:500], 60, rng)
    again, _ = line_data.line_examples(images[:500], labels[:500], 60, np.random.default_rng(0))
    assert all(np.array_equal(first, second) for first, second in zip(lines, again, strict=True))
    assert {len(sequence) for sequence in sequences} == set(range(1, line_data.MAX_DIGITS + 1))
    for line, sequence in zip(lines, sequences, strict=True):
        assert line.shape[0] == line_image.LINE_HEIGHT
        # Wider with more digits: 3 (a 1) to 20 columns per digit at 20 px high.
        assert 3 * len(sequence) <= line.shape[1] - 2 * line_image.LINE_MARGIN <= 24 * len(sequence) + 4
    group = line_data.touching_group([images[0], images[1], images[2]], np.random.default_rng(3))
    _, count = ndimage.label(group > 0.3, structure=np.ones((3, 3)))
    assert count <= 2  # touching (a gap of a pixel at most is allowed: strokes that only nearly meet)


def test_the_committed_reader_reads_groups_of_touching_validation_digits(validation_digits):
    from digit_models import artifacts

    reader = artifacts.load_models()["ensemble"].line_reader
    assert reader is not None, "assets/models has no line reader: run `python -m training line-reader`"
    images, labels = validation_digits
    lines, sequences = line_data.line_examples(images, labels, 300, np.random.default_rng(5), max_digits=4)
    right = [reader.read(line) == "".join(map(str, sequence)) for line, sequence in zip(lines, sequences, strict=True)]
    assert np.mean(right) >= 0.85
    # Its frames over a group of two digits: one digit across the whole line is unlikely, each half reads as its digit.
    pair = line_data.touching_group([images[0], images[1]], np.random.default_rng(6))
    line, scale = line_image.to_line_image(pair)
    frames = line_image.LineFrames(reader([line])[0], left=0.0, scale=scale)
    halves = frames.one_digit(None, pair.shape[1] / 2), frames.one_digit(pair.shape[1] / 2, None)
    assert [int(np.argmax(half)) for half in halves] == [int(labels[0]), int(labels[1])]
    assert frames.one_digit(None, None).max() < min(half.max() for half in halves)


def test_read_number_weighs_the_line_reader_for_digits_cut_out_of_touching_ones(validation_digits):
    """Touching numbers of validation digits (bench's touching family): the JSON adds `line` to the cut digits,
    whose digit weighs it with the ensemble's; and the line reader moves the numbers read exactly."""
    from digit_data import number_families
    from digit_models import artifacts
    from digit_models.reading import cuts, numbers
    from digit_models.reading.settings import CutSettings

    models = artifacts.load_models()
    images, labels = validation_digits
    rng = np.random.default_rng(21)
    with_line = without_line = 0
    for index in range(16):
        # 2-6 digits, as the bench's touching family (on 3-digit numbers alone the cut search without the
        # line reader reads as many right since round 6's settings: 12 of these 16, 20 of 24).
        chosen = rng.choice(len(images), int(rng.integers(2, 7)), replace=False)
        truth = "".join(str(int(label)) for label in labels[chosen])
        source = number_families.number_input("touching", images[chosen], 21, index)
        result = numbers.read_number(models, source)
        with_line += result["number"] == truth
        for digit in result["digits"]:
            if "line" in digit:
                assert list(digit) == ["digit", "confidence", "box", "models", "ensemble", "line"]
                assert sum(digit["line"]) == pytest.approx(1.0, abs=1e-4)
                weighed = cuts.label_log_scores(np.asarray(digit["ensemble"]), None, CutSettings()) + (
                    CutSettings().line_weight * np.log(np.maximum(digit["line"], 1e-12))
                )
                assert digit["digit"] == int(np.argmax(weighed))
        assert any("line" in digit for digit in result["digits"])  # the touching digits were read as a line
        scorer = numbers.ensemble_scorer(models)
        alone = _reading_without_line_reader(source, scorer)
        without_line += alone == truth
    assert with_line >= 12 and with_line > without_line


def _reading_without_line_reader(source, scorer) -> str:
    """The number the cut search reads without the line reader (ensemble argmax per digit)."""
    from digit_models.reading import segmentation

    found = segmentation.segment(source, score=scorer)
    probabilities = scorer(np.stack([digit.image for digit in found.digits])).probabilities
    return "".join(str(int(row.argmax())) for row in probabilities)
