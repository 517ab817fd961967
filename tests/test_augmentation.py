"""Shift augmentation moves pixels exactly as stated; the CNN's augmentation fills with zeros;
re-drawn styles land in the MNIST frame and do what they say."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from digit_data.mnist import load_mnist
from training import augmentation, redrawing, writer_styles
from training.augmentation import SHIFTS, cnn_augmentation, shift_augment, shift_images


@pytest.mark.parametrize(("rows", "columns"), [(-1, 0), (1, 0), (0, -1), (0, 1)])
def test_shift_moves_every_pixel_by_one_and_fills_zero(rows, columns):
    image = np.arange(1, 28 * 28 + 1, dtype=np.int32).reshape(28, 28)
    shifted = shift_images(image, rows, columns)
    for r in range(28):
        for c in range(28):
            source_r, source_c = r - rows, c - columns
            inside = 0 <= source_r < 28 and 0 <= source_c < 28
            assert shifted[r, c] == (image[source_r, source_c] if inside else 0)


def test_shift_augment_keeps_labels_and_originals_first():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (7, 28, 28), dtype=np.uint8)
    labels = np.arange(7)
    augmented, augmented_labels = shift_augment(images, labels)
    assert augmented.shape == (35, 28, 28) and augmented.dtype == np.uint8
    np.testing.assert_array_equal(augmented[:7], images)
    np.testing.assert_array_equal(augmented_labels, np.tile(labels, 5))
    for block, (rows, columns) in enumerate(SHIFTS):
        np.testing.assert_array_equal(augmented[7 * block : 7 * block + 7], shift_images(images, rows, columns))
    # One pixel right: column 0 is empty, column 1 holds what column 0 held.
    right = augmented[7 * SHIFTS.index((0, 1))]
    assert not right[:, 0].any()
    np.testing.assert_array_equal(right[:, 1:], images[0][:, :-1])


def test_cnn_augmentation_fills_the_border_with_zeros_not_reflections():
    # A bar touching the left edge: 'reflect' would mirror it into the empty right border.
    batch = np.zeros((16, 28, 28, 1), np.float32)
    batch[:, :, :6] = 1.0
    augmentation = cnn_augmentation(rotation_degrees=10, shift_fraction=0.15, zoom_fraction=0.1, seed=1)
    augmented = np.asarray(augmentation(batch, training=True))
    assert augmented.shape == batch.shape
    assert augmented[:, :, 20:].max() < 1e-3, "ink appeared in the empty right part of the image"
    assert np.abs(augmented - batch).max() > 0.5, "the layers changed nothing"
    np.testing.assert_allclose(np.asarray(augmentation(batch, training=False)), batch)


# --- Re-drawn styles (issue #7): every copy lands in the MNIST frame, as the app's inputs do. ---


@pytest.fixture(scope="module")
def digits():
    mnist = load_mnist()
    return mnist.X_train[:60], mnist.y_train[:60]


def _box_and_centre(image: np.ndarray) -> tuple[int, tuple[float, float]]:
    inked = image > 0.05 * image.max()
    rows, columns = np.flatnonzero(inked.any(axis=1)), np.flatnonzero(inked.any(axis=0))
    return max(rows[-1] - rows[0] + 1, columns[-1] - columns[0] + 1), ndimage.center_of_mass(image)


LABELLED_STYLES = ("strokes", "scanned_one", "low_bar_four", "flat_top_six")


@pytest.mark.parametrize("style", [*augmentation.STYLES, *LABELLED_STYLES, "few_points"])
def test_each_style_keeps_digits_in_the_mnist_frame(digits, style):
    images, labels = digits
    styles = (style, "pen") if style in LABELLED_STYLES else (style,)
    augmented = augmentation.augment_styles(images, styles, seed=3, labels=labels)
    assert augmented.shape == images.shape and augmented.dtype == np.uint8
    assert not np.array_equal(augmented, images), "the style changed nothing"
    for image in augmented.astype(np.float32):
        side, (row, column) = _box_and_centre(image)
        assert 17 <= side <= 21, f"ink box of {side} px instead of MNIST's 20"
        assert abs(row - 14) <= 1.0 and abs(column - 14) <= 1.0


def test_augment_styles_is_reproducible_from_its_seed(digits):
    images, labels = digits
    first = augmentation.augment_styles(images, augmentation.STYLES, seed=5, labels=labels)
    again = augmentation.augment_styles(images, augmentation.STYLES, seed=5, labels=labels)
    other = augmentation.augment_styles(images, augmentation.STYLES, seed=6, labels=labels)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_few_point_pen_draws_curves_as_polygons_through_the_points_asked_for():
    from digit_data import trajectories

    rows, columns = np.mgrid[0:28, 0:28]
    radius = np.hypot(rows - 14, columns - 14)
    ring = ((radius > 6) & (radius < 9)).astype(np.float32)  # a 0, round
    smooth = augmentation.pen_redraw(ring, 10.0)
    # Through 200 points the 0 stays round (what is left is the two pens' edges); through 9 (8 sides) and 5 (a
    # square) it departs further from the round one the fewer the points.
    apart = {points: np.abs(augmentation.few_point_pen(ring, 10.0, points) - smooth).mean() for points in (5, 9, 200)}
    assert apart[5] > apart[9] > apart[200] + 0.03, apart
    line = np.zeros((40, 40), bool)
    line[5, 5:30] = True
    line[5:35, 29] = True  # an L turned over: one stroke with a corner
    paths = trajectories.pen_paths(line)
    assert len(paths) == 1 and {tuple(paths[0][0]), tuple(paths[0][-1])} == {(5.0, 5.0), (34.0, 29.0)}
    corners = trajectories.resampled(paths[0], 5)
    steps = np.hypot(*np.diff(corners, axis=0).T)
    assert np.allclose(corners[[0, -1]], paths[0][[0, -1]]) and steps.max() - steps.min() < 6


def test_pen_redraw_gives_the_width_asked_for():
    from preprocessing import normalisation

    ring = np.zeros((28, 28), np.float32)
    ring[4:24, 7:21] = 1.0
    ring[7:21, 10:18] = 0.0  # a 0 drawn with a 3-px pen
    thin, thick = augmentation.pen_redraw(ring, 6.0), augmentation.pen_redraw(ring, 14.0)
    # Both fill the same 20-px box, so a wider pen shows as more ink.
    assert thick.sum() > 1.6 * thin.sum()
    assert normalisation.stroke_width(thick > 0.5) > normalisation.stroke_width(thin > 0.5)


def test_a_flag_goes_to_the_left_of_a_ones_top_and_a_bar_across_a_seven():
    one = np.zeros((28, 28), np.float32)
    one[4:24, 13:16] = 1.0
    flagged = writer_styles.add_stroke(one, 1, np.random.default_rng(0))
    plain = redrawing.renormalise(one)
    # The flag adds ink left of the stem in the upper half.
    assert flagged[:14, :12].sum() > plain[:14, :12].sum() + 2
    seven = np.zeros((28, 28), np.float32)
    seven[4:7, 8:22] = 1.0
    for row in range(7, 24):
        seven[row, 20 - (row - 7) // 2 : 23 - (row - 7) // 2] = 1.0
    crossed = writer_styles.add_stroke(seven, 7, np.random.default_rng(0))
    widest = max(np.count_nonzero(crossed[row] > 0.3) for row in range(12, 20))
    assert widest >= 6, "no bar across the stem"


def test_warp_moves_ink_but_keeps_most_of_it():
    image = np.zeros((4, 28, 28), np.float32)
    image[:, 6:22, 12:16] = 1.0
    warped = augmentation.warp(image, np.random.default_rng(0))
    assert warped.shape == (4, 40, 40)
    ratio = warped.sum(axis=(1, 2)) / image.sum(axis=(1, 2))
    assert np.all((ratio > 0.6) & (ratio < 1.6))
    assert not np.allclose(warped[:, 6:34, 6:34], image, atol=0.1)


def test_a_short_stem_four_loses_its_stem_above_the_bar_and_a_closed_four_is_kept():
    open_four = np.zeros((28, 28), np.float32)
    open_four[4:16, 6:9] = 1.0  # the open arm, down to the bar
    open_four[14:17, 6:22] = 1.0  # the bar
    open_four[4:25, 18:21] = 1.0  # the stem, from the top to well below the bar
    shortened = writer_styles.shorten_stem(open_four, np.random.default_rng(0))
    rows, columns = np.nonzero(shortened > 0.5)
    right = columns > columns.min() + 0.6 * (columns.max() - columns.min())
    left = ~right
    # The stem now starts a little above the bar; the arm still reaches the top.
    assert rows[left].min() + 0.3 * (rows.max() - rows.min()) < rows[right].min()
    closed_four = open_four.copy()
    closed_four[4:7, 6:21] = 1.0  # a bar across the top joins arm and stem
    kept = writer_styles.shorten_stem(closed_four, np.random.default_rng(0))
    assert np.array_equal(kept, redrawing.renormalise(closed_four))


def _plain_one() -> np.ndarray:
    one = np.zeros((28, 28), np.float32)
    for row in range(4, 24):  # a slightly slanted stem, 3 px wide
        one[row, 15 - (row - 4) // 6 : 18 - (row - 4) // 6] = 1.0
    return one


def test_a_scanned_flagged_one_is_mostly_a_wide_wedge_with_ink_left_of_its_top():
    plain = redrawing.renormalise(_plain_one())
    wedges = 0
    for seed in range(10):
        scanned = writer_styles.scanned_flagged_one(_plain_one(), np.random.default_rng(seed))
        columns = np.flatnonzero((scanned > 0.5).any(axis=0))
        # Stretched to a form's frame, pen and all: wider than the stem, with more ink, and the flag
        # fills the upper left, where the plain 1 has none. A flag that runs almost along the stem
        # merges with it, and the app's thinning makes that a plain 1 again: allowed now and then.
        wedges += bool(
            columns[-1] - columns[0] >= 9
            and scanned.sum() > 1.3 * plain.sum()
            and scanned[:14, :14].sum() > plain[:14, :14].sum() + 5
        )
    assert wedges >= 6


def _open_four() -> np.ndarray:
    four = np.zeros((28, 28), np.float32)
    four[4:16, 6:9] = 1.0  # the open arm, down to the bar
    four[14:17, 6:22] = 1.0  # the bar
    four[4:25, 18:21] = 1.0  # the stem, from the top to well below the bar
    return four


def test_a_low_bar_four_has_its_bar_low_and_a_short_stem():
    for seed in range(5):
        four = writer_styles.low_bar_four(_open_four(), np.random.default_rng(seed))
        inked = four > 0.5
        rows = np.flatnonzero(inked.any(axis=1))
        widths = [np.ptp(np.flatnonzero(row)) if row.any() else 0 for row in inked]
        bar = int(np.argmax(widths))
        # The bar now sits in the lower part, the stem going on below it for a little only.
        assert bar - rows[0] > 0.6 * (rows[-1] - rows[0])
        right = inked[:, 18:]
        stem_top = np.flatnonzero(right.any(axis=1))[0]
        assert stem_top > rows[0] + 0.3 * (rows[-1] - rows[0]), "the stem still rises to the top"


def _round_six() -> np.ndarray:
    """A 6 as MNIST's writers draw it: a closed loop at the bottom, a curve rising from its left to the top right."""
    from PIL import Image, ImageDraw

    canvas = Image.new("L", (28, 28))
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((7, 13, 21, 26), outline=255, width=2)
    draw.arc((7, 2, 31, 34), start=190, end=270, fill=255, width=2)
    return np.asarray(canvas, dtype=np.float32) / 255


def test_a_flat_topped_six_keeps_its_loop_and_gets_a_flat_top():
    six = _round_six()
    for seed in range(5):
        flat = writer_styles.flat_top_six(six, np.random.default_rng(seed))
        inked = flat > 0.3
        assert (ndimage.binary_fill_holes(inked) & ~inked).sum() >= 4, "the loop was lost"
        rows = np.flatnonzero(inked.any(axis=1))
        top_rows = inked[rows[0] : rows[0] + 3]
        top_span = np.ptp(np.flatnonzero(top_rows.any(axis=0)))
        assert top_span >= 4, "no flat top across the digit's first rows"
        # The stroke above the loop is straight: at mid-height its ink sits in one narrow run.
        middle = inked[rows[0] + (rows[-1] - rows[0]) // 4]
        assert np.ptp(np.flatnonzero(middle)) <= 4


def test_a_six_without_a_closed_loop_is_left_as_it_is():
    open_six = _round_six()
    open_six[16:24, 18:23] = 0.0  # a gap in the loop's right side
    np.testing.assert_array_equal(
        writer_styles.flat_top_six(open_six, np.random.default_rng(0)), redrawing.renormalise(open_six)
    )
