"""digit_models.reading.segmentation: an image of a number -> one 28x28 crop per digit, left to right."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from digit_models.reading import cuts, segmentation, spans
from digit_models.reading.settings import CutSettings, Settings
from preprocessing import to_mnist

NEVER_CUT = CutSettings(split_aspect=100.0)  # No group is wide enough to be tried for cuts.
SCALE = 6  # MNIST digits enlarged to about 120 px, the size of a digit in a phone photo of a number.


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray]:
    from digit_data.mnist import load_mnist

    data = load_mnist()
    return data.X_test, data.y_test


def enlarged(digit: np.ndarray) -> np.ndarray:
    """uint8 (28, 28) ink bright -> float32 ink amount (h, w) in [0, 1], cropped to the ink, SCALE times larger."""
    rows, columns = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    crop = digit[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]
    size = (crop.shape[1] * SCALE, crop.shape[0] * SCALE)
    return np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC), dtype=np.float32) / 255


def on_paper(inks: list[np.ndarray], places: list[tuple[int, int]], size: tuple[int, int]) -> np.ndarray:
    """Dark ink amounts pasted at (left, top) places on white paper of size (width, height): uint8 (H, W)."""
    amount = np.zeros((size[1], size[0]), dtype=np.float32)
    for ink, (left, top) in zip(inks, places, strict=True):
        region = amount[top : top + ink.shape[0], left : left + ink.shape[1]]
        np.maximum(region, ink, out=region)
    return np.round(255 * (1 - np.clip(amount, 0, 1))).astype(np.uint8)


def boxes_of(found: segmentation.Segmentation) -> list[tuple[int, int, int, int]]:
    return [digit.box for digit in found.digits]


def overlap(box: tuple[int, int, int, int], other: tuple[int, int, int, int]) -> float:
    """Intersection over union of two (left, top, right, bottom) boxes."""
    width = min(box[2], other[2]) - max(box[0], other[0])
    height = min(box[3], other[3]) - max(box[1], other[1])
    inter = max(width, 0) * max(height, 0)
    area = (box[2] - box[0]) * (box[3] - box[1]) + (other[2] - other[0]) * (other[3] - other[1]) - inter
    return inter / area


def test_digits_come_left_to_right_even_at_different_heights(test_digits):
    images, _ = test_digits
    inks = [enlarged(images[index]) for index in (0, 1, 2)]
    places = [(40, 90), (230, 40), (400, 120)]  # The middle digit sits higher, the last lower.
    found = segmentation.segment(on_paper(inks, places, (600, 300)))
    assert found.found and found.inverted
    assert len(found.digits) == 3
    for box, ink, (left, top) in zip(boxes_of(found), inks, places, strict=True):
        assert overlap(box, (left, top, left + ink.shape[1], top + ink.shape[0])) > 0.85


def test_each_crop_is_what_to_mnist_makes_of_that_digit_alone(test_digits):
    images, _ = test_digits
    inks = [enlarged(images[index]) for index in (3, 4)]
    places = [(30, 40), (220, 50)]
    found = segmentation.segment(on_paper(inks, places, (400, 250)))
    assert len(found.digits) == 2
    for digit, ink, place in zip(found.digits, inks, places, strict=True):
        alone = to_mnist(on_paper([ink], [place], (400, 250)))
        assert np.abs(digit.image - alone.image).mean() < 0.02
        assert digit.image.shape == (28, 28) and digit.image.dtype == np.float32


def drawn(strokes: list[list[tuple[int, int]]], size: tuple[int, int] = (700, 240), width: int = 12) -> np.ndarray:
    """Black pen strokes (lists of (x, y) points) on white: uint8 (H, W)."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=0, width=width, joint="curve")
    return np.asarray(image)


FIVE_WITH_LOOSE_BAR = [
    [(70, 40), (130, 40)],  # The bar, drawn apart from the body.
    [(65, 52), (60, 110), (100, 100), (125, 125), (120, 170), (90, 190), (55, 175)],
]
CROSSED_SEVEN = [[(200, 40), (280, 40), (230, 190)], [(220, 115), (275, 115)]]
FOUR_IN_TWO_STROKES = [[(380, 40), (350, 130), (420, 130)], [(400, 70), (400, 195)]]
BROKEN_ONE = [[(520, 40), (520, 100)], [(521, 112), (521, 190)]]


def test_pieces_of_one_digit_make_one_crop():
    strokes = FIVE_WITH_LOOSE_BAR + CROSSED_SEVEN + FOUR_IN_TWO_STROKES + BROKEN_ONE
    found = segmentation.segment(drawn(strokes))
    boxes = boxes_of(found)
    assert len(boxes) == 4
    assert [box[0] < 200 for box in boxes] == [True, False, False, False]
    # The 5's box takes in its loose bar; the 1's takes in both halves.
    assert boxes[0][1] <= 40 and boxes[0][3] >= 189
    assert boxes[3][1] <= 40 and boxes[3][3] >= 189


def test_specks_are_ignored():
    strokes = CROSSED_SEVEN + FOUR_IN_TWO_STROKES
    clean = segmentation.segment(drawn(strokes))
    specks = [[(x, y), (x + 1, y)] for x, y in ((150, 200), (320, 30), (470, 220), (600, 100))]
    speckled = segmentation.segment(drawn(strokes + specks))
    assert len(clean.digits) == 2
    assert boxes_of(speckled) == boxes_of(clean)


def numbers_with_one_crop_per_digit(family: str, count: int, choice_seed: int) -> int:
    """How many of `count` numbers of 3-6 validation digits of number family `family` segment into one crop per
    digit (no classifier: touching digits stay whole)."""
    from digit_data import number_families

    images, _ = number_families.digits_of("validation")
    rng = np.random.default_rng(choice_seed)
    right = 0
    for index in range(count):
        chosen = rng.choice(len(images), int(rng.integers(3, 7)), replace=False)
        found = segmentation.segment(number_families.number_input(family, images[chosen], 4, index))
        right += len(found.digits) == len(chosen)
    return right


def test_a_number_on_notebook_paper_gives_one_crop_per_digit():
    """A notebook's printed lines run through the whole number, and their pieces joined its digits into groups.
    Of these 80 photos of 3-6 validation digits on ruled or squared paper, 74 gave one crop per digit when the
    lines stayed in the ink (`detection.find_ink`); without them (`detection.find_ink_of_several`), 79."""
    assert numbers_with_one_crop_per_digit("notebook", 80, 11) >= 78


def test_a_number_on_a_note_lying_on_a_desk_is_read_on_the_note():
    """The desk round the note was taken for ink (or the note for one light digit): of these 30 photos of 3-6
    validation digits on notes on desks, none gave one crop per digit; read on the note alone (`sheet.note_alone`),
    22."""
    assert numbers_with_one_crop_per_digit("desk", 30, 12) >= 20


def test_a_number_under_a_sharp_edged_shadow_is_read_on_even_paper():
    """A shadow's sharp edge across the paper: the shade was taken for ink. Of these 30 photos of 3-6 validation
    digits in the `sharp-shadow` family, 12 gave one crop per digit; evened out by the paper's level
    (`shadow.evened_out`), 24."""
    assert numbers_with_one_crop_per_digit("sharp-shadow", 30, 13) >= 22


def test_touching_digits_are_cut_where_the_classifier_reads_them_best(test_digits, quick_models):
    from digit_models.reading.numbers import ensemble_scorer

    images, labels = test_digits
    chosen = [int(np.flatnonzero(labels == digit)[0]) for digit in (2, 0, 3)]
    inks = [enlarged(images[index]) for index in chosen]
    # Each digit pushed left until its ink runs into its neighbour's: one connected stroke.
    places, left = [], 30
    for ink in inks:
        places.append((left, 40))
        left += ink.shape[1] - 16
    image = on_paper(inks, places, (left + 60, 260))
    whole = segmentation.segment(image)
    assert len(whole.digits) == 1  # Without a classifier nothing is cut.
    found = segmentation.segment(image, score=ensemble_scorer(quick_models))
    assert len(found.digits) == 3
    lefts = [box[0] for box in boxes_of(found)]
    assert lefts == sorted(lefts)


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (np.full((300, 900), 255, dtype=np.uint8), "uniform"),
        ({"background": None, "layers": [], "composite": np.zeros((400, 1200, 4), dtype=np.uint8)}, "canvas"),
        (drawn([[(100, 100), (101, 100)], [(300, 50), (301, 51)]]), "specks"),
    ],
)
def test_nothing_to_read_gives_no_digits_and_the_reason(source, reason):
    found = segmentation.segment(source)
    assert not found.found and found.digits == ()
    assert reason in found.reason


def test_touching_mnist_digits_are_split_into_their_digits(test_digits, app_models_dir):
    """Numbers of two or three MNIST test digits run into each other (bench's touching family): one stroke."""
    from digit_data import number_families
    from digit_models import artifacts
    from digit_models.reading import numbers

    models = artifacts.load_models(app_models_dir)
    score = numbers.ensemble_scorer(models)
    images, labels = test_digits
    rng = np.random.default_rng(10)
    joined, counted, right = 0, 0, 0
    for index in range(12):
        chosen = rng.choice(len(images), 2 + index % 2, replace=False)
        source = number_families.number_input("touching", images[chosen], 10, index)
        prepared = segmentation.prepare(source, score, score.line_reader)
        joined += len(prepared.spans(Settings(cuts=NEVER_CUT))) < len(chosen)
        counted += len(prepared.segment().digits) == len(chosen)
        right += numbers.read_number(models, source)["number"] == "".join(str(int(label)) for label in labels[chosen])
    assert joined >= 10  # Without cuts most would lose digits: they really touch.
    assert counted >= 10 and right >= 8


def test_reading_only_winnable_spans_chooses_as_reading_every_candidate(test_digits, quick_models):
    """The pruning in `cuts.winnable` is a fast path: the dynamic program over every candidate agrees."""
    from digit_data import number_families
    from digit_models.reading import numbers

    images, _ = test_digits
    rng = np.random.default_rng(11)
    pruned = 0
    for index in range(6):
        chosen = rng.choice(len(images), 3, replace=False)
        source = number_families.number_input("touching", images[chosen], 11, index)
        prepared = segmentation.prepare(source, numbers.ensemble_scorer(quick_models))
        line_height = float(max(piece.box[3] - piece.box[1] for piece in prepared.pieces))
        group = prepared.pieces  # Every stroke as one group: the widest lattice.
        found = spans.lattice(group, prepared.labels, prepared.ink_map.ink, True, line_height, CutSettings())
        every = list(found.spans.values())
        heights = dict(zip(every, prepared.reader.heights(every), strict=True))
        minimum = CutSettings().min_height_fraction * line_height
        # The slow path: every candidate read, the short ones (not the whole group) left out by hand.
        readable = [span for span in every if heights[span] is not None]
        readings = dict(zip(readable, prepared.reader.readings(readable), strict=True))
        tall = {
            span: reading
            for span, reading in readings.items()
            if reading.height >= minimum or (span.left is None and span.right is None)
        }
        wanted = cuts.winnable(found, prepared.reader, line_height, CutSettings())
        pruned += len(every) - len(wanted)
        fast = cuts.best_reading(found, {span: readings[span] for span in wanted}, CutSettings())
        assert fast == cuts.best_reading(found, tall, CutSettings())
    assert pruned > 0


def test_reading_the_likeliest_chain_first_chooses_as_reading_every_candidate(test_digits, app_models_dir, monkeypatch):
    """`cuts.could_win` is a fast path: the same digits as when every winnable candidate is read, from fewer reads."""
    from digit_data import number_families
    from digit_models import artifacts
    from digit_models.reading import numbers

    score = numbers.ensemble_scorer(artifacts.load_models(app_models_dir))
    images, _ = test_digits
    rng = np.random.default_rng(12)
    read = {"fast": 0, "every": 0}

    def chosen_spans(source: np.ndarray, way: str) -> list[spans.Span]:
        def counted(batch: np.ndarray) -> spans.Scores:
            read[way] += len(batch)
            return score(batch)

        return [chosen.span for chosen in segmentation.prepare(source, counted, score.line_reader).spans()]

    for index in range(6):
        chosen = rng.choice(len(images), 4, replace=False)
        source = number_families.number_input("touching", images[chosen], 12, index)
        fast = chosen_spans(source, "fast")
        with monkeypatch.context() as patch:
            patch.setattr(
                cuts,
                "could_win",
                lambda found, candidates, readings, *_: [span for span in candidates if span not in readings],
            )
            assert chosen_spans(source, "every") == fast
    assert read["fast"] < 0.9 * read["every"]
