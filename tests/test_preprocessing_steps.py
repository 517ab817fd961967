"""Each image step on toy images, and the MNIST constants checked against MNIST itself."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from preprocessing import background, detection, geometry, normalisation, statistics


def bar_image(*, ink: float, background: float, side: int = 120) -> np.ndarray:
    """float32 (side, side): a vertical bar of level `ink` on `background`."""
    image = np.full((side, side), background, dtype=np.float32)
    image[20:100, 50:62] = ink
    return image


def line_mask(width: int, shape: tuple[int, int] = (80, 80)) -> np.ndarray:
    """A vertical line `width` pixels wide (bool)."""
    mask = np.zeros(shape, dtype=bool)
    mask[10:70, 40 - width // 2 : 40 - width // 2 + width] = True
    return mask


def fits(image: np.ndarray, ink_sign: int = 0) -> background.Background:
    return background.fit_background(image, 1, image.shape, ink_sign=ink_sign)


def surface(background: background.Background, shape: tuple[int, int]) -> np.ndarray:
    return background.values(np.arange(shape[0]), np.arange(shape[1]))


class TestPolarity:
    def test_dark_ink_on_light_paper_is_inverted(self):
        image = bar_image(ink=0.1, background=0.9)
        fitted = fits(image)
        assert background.decide_polarity(image - surface(fitted, image.shape), fitted.spread) is True

    def test_light_ink_on_dark_background_is_not_inverted(self):
        image = bar_image(ink=0.9, background=0.1)
        fitted = fits(image)
        assert background.decide_polarity(image - surface(fitted, image.shape), fitted.spread) is False

    def test_polarity_comes_from_the_image_not_from_absolute_levels(self):
        # Dark-grey ink on mid-grey paper, and light-grey ink on the same paper.
        for ink, expected in ((0.3, True), (0.7, False)):
            image = bar_image(ink=ink, background=0.5)
            fitted = fits(image)
            assert background.decide_polarity(image - surface(fitted, image.shape), fitted.spread) is expected

    def test_uniform_image_has_no_polarity(self):
        image = np.full((50, 50), 0.4, dtype=np.float32)
        fitted = fits(image)
        assert background.decide_polarity(image - surface(fitted, image.shape), fitted.spread) is None


def test_background_fit_follows_uneven_light_and_ignores_the_ink():
    rows, columns = np.mgrid[0:120, 0:160].astype(np.float32)
    light = 0.6 + 0.35 * columns / 160 - 0.1 * ((rows - 60) / 60) ** 2
    image = light.copy()
    image[20:100, 30:70] *= 0.2  # A big dark blob of ink.
    fitted = fits(image, ink_sign=-1)
    assert np.abs(surface(fitted, image.shape) - light).max() < 0.02


def test_flat_background_needs_no_surface():
    fitted = fits(bar_image(ink=0.0, background=1.0))
    assert fitted.is_flat and fitted.coefficients[0, 0] == 1.0


def test_ink_in_shadow_counts_as_much_as_ink_in_light():
    gray = np.array([[0.2, 0.1]], dtype=np.float32)  # Same ink, once in full light, once in a shadow.
    paper = np.array([[1.0, 0.5]], dtype=np.float32)
    np.testing.assert_allclose(background.ink_map(gray, paper, inverted=True), [[0.8, 0.8]], atol=1e-6)


class TestSelectDigit:
    def test_keeps_a_separate_bar_near_the_digit_and_drops_a_far_speck(self):
        ink = np.zeros((100, 100), dtype=np.float32)
        ink[30:80, 40:44] = 1.0  # The main stroke.
        ink[22:25, 40:60] = 1.0  # The separate top bar of a 5, close by.
        ink[90:92, 5:7] = 1.0  # A speck in a corner.
        mask, (left, top, right, bottom) = detection.select_digit(ink, 0.5, 0.25)
        assert mask[23, 50] and not mask[91, 6]
        assert (left, top, right, bottom) == (39, 21, 61, 81)  # Grown by one pixel.

    def test_faint_stretches_of_a_stroke_stay_part_of_it(self):
        ink = np.zeros((60, 60), dtype=np.float32)
        ink[10:50, 30] = 0.3  # A hairline, faint after reduction...
        ink[10:14, 30] = 1.0  # ...that is clearly ink somewhere.
        mask, _ = detection.select_digit(ink, 0.5, 0.25)
        assert mask[10:50, 30].all()

    def test_follows_a_broken_line_to_its_end(self):
        ink = np.zeros((200, 200), dtype=np.float32)
        for start in range(20, 180, 30):  # Six dashes, 16 pixels long, 14 apart.
            ink[start : start + 16, 100:104] = 1.0
        mask, box = detection.select_digit(ink, 0.5, 0.25)
        assert box == (99, 19, 105, 187) and mask[180, 101]

    def test_keeps_a_thin_line_that_holds_little_ink(self):
        ink = np.zeros((100, 100), dtype=np.float32)
        ink[20:80, 40:48] = 1.0  # A thick main stroke...
        ink[15, 40:60] = 1.0  # ...and a one-pixel bar beside it: 4% of its ink, a third of its length.
        mask, _ = detection.select_digit(ink, 0.5, 0.25)
        assert mask[15, 55]

    def test_only_specks_is_no_digit(self):
        ink = np.zeros((200, 200), dtype=np.float32)
        ink[::37, ::41] = 1.0
        assert detection.select_digit(ink, 0.5, 0.25) == detection.NoDigit(detection.NoDigitKind.ONLY_SPECKS)


class TestGeometry:
    def test_strokes_keep_faint_groups_only_when_they_reach_the_high_threshold(self):
        values = np.zeros((20, 20), dtype=np.float32)
        values[2:18, 3] = 0.3  # A faint line...
        values[10, 3] = 0.9  # ...that is clearly ink once.
        values[2:18, 12] = 0.3  # A faint line that never is.
        labels, count = geometry.strokes(values, 0.2, 0.5)
        assert count == 1 and set(np.unique(labels)) == {0, 1}
        assert labels[2:18, 3].all() and not labels[:, 12].any()
        np.testing.assert_array_equal(geometry.hysteresis(values, 0.2, 0.5), labels > 0)

    def test_boxes_are_right_and_bottom_exclusive_and_map_outwards_to_the_input(self):
        mask = np.zeros((10, 12), dtype=bool)
        mask[2:5, 3:9] = True
        assert geometry.bounding_box(mask) == (3, 2, 9, 5)
        assert geometry.bounding_box(np.zeros((4, 4), dtype=bool)) is None
        assert geometry.crop(mask, (3, 2, 9, 5)).all()
        # A copy reduced 3 times from a 35x30 (width x height) input: edges go outwards, within the input.
        assert geometry.to_input_box((3, 2, 12, 10), (10, 12), (35, 30)) == (8, 6, 35, 30)

    def test_resize_longest_side_keeps_the_aspect_and_the_mean_level(self):
        image = np.full((40, 20), 0.5, dtype=np.float32)
        for side in (10, 80):
            resized = geometry.resize_longest_side(image, side)
            assert resized.shape == (side, side // 2) and resized.dtype == np.float32
            np.testing.assert_allclose(resized, 0.5, atol=1e-6)

    def test_reduce_array_shrinks_by_a_whole_factor_averaging_blocks(self):
        image = np.zeros((300, 200), dtype=np.float32)
        image[::2] = 1.0
        reduced, factor = geometry.reduce_array(image, 256)
        assert factor == 2 and reduced.shape == (150, 100)
        np.testing.assert_allclose(reduced, 0.5, atol=1e-6)


def test_background_starts_from_the_border_when_ink_covers_most_of_the_image():
    image = np.full((60, 60), 0.9, dtype=np.float32)
    image[5:60, 8:52] = 0.2  # Dark ink over two thirds of the image, touching the bottom edge.
    fitted = fits(image)
    assert fitted.is_flat and fitted.coefficients[0, 0] == pytest.approx(0.9, abs=1e-6)
    residual = image - surface(fitted, image.shape)
    assert background.decide_polarity(residual, fitted.spread) is True


def test_noise_level_ignores_the_ink():
    rng = np.random.default_rng(0)
    ink = rng.normal(0, 0.02, (100, 100)).astype(np.float32)
    ink[:, :70] += 0.8  # Ink over 70% of the map, only ever on the positive side.
    assert background.noise_level(ink) == pytest.approx(0.02, rel=0.15)


class TestStrokeWidth:
    @pytest.mark.parametrize("width", [1, 4, 9, 16])
    def test_measures_a_line_as_its_width_plus_one(self, width):
        assert normalisation.stroke_width(line_mask(width)) == pytest.approx(width + 1, abs=1.0)

    def test_empty_mask_measures_zero(self):
        assert normalisation.stroke_width(np.zeros((10, 10), dtype=bool)) == 0.0

    @pytest.mark.parametrize("width", [1, 3, 20, 30])
    def test_out_of_range_strokes_are_brought_to_mnist_width(self, width):
        adjusted = normalisation.set_stroke_width(line_mask(width))
        assert normalisation.stroke_width(adjusted) == pytest.approx(normalisation.MNIST_STROKE_WIDTH, abs=1.5)

    def test_in_range_strokes_are_left_alone(self):
        mask = line_mask(9)
        assert normalisation.set_stroke_width(mask) is mask

    def test_thinning_never_erases_thin_parts(self):
        mask = line_mask(30)
        mask[70:78, 39:41] = True  # A thin tail below the thick stroke.
        adjusted = normalisation.set_stroke_width(mask)
        assert adjusted[70:78, 39:41].all()

    def test_hairline_is_kept_whole_when_binarised(self):
        work = np.zeros((80, 80), dtype=np.float32)
        work[10:70, 40] = 0.15  # A 1-pixel pen line shrunk four times: faint...
        work[10:70:7, 40] = 0.3  # ...and uneven.
        assert not normalisation.binarise(work)[10:70, 40].all()
        assert normalisation.binarise(work, keep_faint=True)[10:70, 40].all()


def ring(side: int = 120, width: float = 14.0) -> np.ndarray:
    """float32 (side, side): a hard-edged ring (a pen-drawn 0) of stroke `width`, ink 1 on 0."""
    rows, columns = np.mgrid[:side, :side] - (side - 1) / 2
    radius = np.hypot(rows / 1.3, columns)
    return (np.abs(radius - side / 3) <= width / 2).astype(np.float32)


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """A blur of `image` with its peak brought back to 1, as when a few-pixel digit is enlarged."""
    soft = ndimage.gaussian_filter(image, sigma)
    return (soft / soft.max()).astype(np.float32)


class TestBlurredDigits:
    def test_softness_tells_a_blurred_stroke_from_a_pen_stroke(self):
        pen = normalisation.to_work_resolution(ring())
        assert normalisation.softness(pen) < normalisation.BLUR_SOFTNESS
        assert (
            normalisation.softness(normalisation.to_work_resolution(blurred(ring(), 6))) >= normalisation.BLUR_SOFTNESS
        )
        assert normalisation.softness(np.zeros((8, 8), np.float32)) == 0.0

    def test_a_blurred_digit_keeps_its_grey_levels_and_a_pen_stroke_is_redrawn(self):
        soft = blurred(ring(), 6)
        kept = normalisation.centre_by_mass(normalisation.fit_into_digit_box(normalisation.stretch_to_peak(soft)))
        np.testing.assert_allclose(normalisation.to_mnist_frame(soft), kept, atol=1e-6)
        pen = ring()
        own = normalisation.centre_by_mass(normalisation.fit_into_digit_box(pen))
        assert np.abs(normalisation.to_mnist_frame(pen) - own).max() > 0.2  # Redrawn at MNIST's width.

    def test_a_faint_blur_is_stretched_to_full_ink(self):
        frame = normalisation.to_mnist_frame(0.4 * blurred(ring(), 6))
        assert frame.max() == pytest.approx(1.0, abs=0.05)

    def test_a_thin_blurred_line_is_still_thickened(self):
        """Half-tones across a thin line are a faint pen, not a blur of a wide stroke: it gets MNIST's width."""
        thin = blurred(ring(width=2.0), 1.0)
        kept = normalisation.centre_by_mass(normalisation.fit_into_digit_box(thin))
        assert normalisation.to_mnist_frame(thin).sum() > 1.5 * kept.sum()


def test_fit_into_digit_box_keeps_the_aspect_ratio():
    digit = normalisation.fit_into_digit_box(np.ones((80, 40), dtype=np.float32))
    assert digit.shape == (20, 10)
    digit = normalisation.fit_into_digit_box(np.ones((10, 5), dtype=np.float32))
    assert digit.shape == (20, 10)


def test_centre_by_mass_puts_the_centre_of_mass_at_mnist_centre():
    digit = np.zeros((20, 12), dtype=np.float32)
    digit[:14, :] = 1.0  # Mass towards the top, so the box's centre is not the answer.
    frame = normalisation.centre_by_mass(digit)
    assert frame.shape == (28, 28) and frame.sum() == pytest.approx(digit.sum())
    row, column = ndimage.center_of_mass(frame)
    assert abs(row - 14) <= 0.5 and abs(column - 14) <= 0.5


def test_centre_by_mass_keeps_the_digit_inside_the_frame():
    digit = np.zeros((20, 20), dtype=np.float32)
    digit[0, 0] = 1.0
    assert normalisation.centre_by_mass(digit).sum() == pytest.approx(1.0)


def test_quantile_matches_numpy_nearest_rank():
    values = np.random.default_rng(0).random(1001)
    for fraction in (0.0, 0.1, 0.5, 0.9, 1.0):
        assert statistics.quantile(values, fraction) == np.percentile(values, 100 * fraction, method="nearest")
    assert statistics.robust_spread(np.random.default_rng(1).normal(0, 2, 100_000)) == pytest.approx(2, rel=0.02)


class TestMnistConstants:
    """The targets the steps aim at are MNIST's own, measured here on training digits."""

    @pytest.fixture(scope="class")
    def training_digits(self) -> np.ndarray:
        from digit_data.mnist import load_mnist

        return load_mnist().X_train[:1000].astype(np.float32) / 255

    def test_mnist_centre_of_mass(self, training_digits):
        centres = np.array([ndimage.center_of_mass(image) for image in training_digits])
        np.testing.assert_allclose(centres.mean(axis=0), normalisation.MNIST_CENTRE, atol=0.1)

    def test_mnist_digits_fill_a_20_pixel_box(self, training_digits):
        sides = [max(np.ptp(np.nonzero(image)[0]), np.ptp(np.nonzero(image)[1])) + 1 for image in training_digits]
        assert np.median(sides) == normalisation.DIGIT_SIDE

    def test_mnist_stroke_width_range(self, training_digits):
        widths = []
        for image in training_digits[:300]:
            rows, columns = np.nonzero(image)
            crop = image[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
            widths.append(normalisation.stroke_width(normalisation.binarise(normalisation.to_work_resolution(crop))))
        low, middle, high = np.percentile(widths, [10, 50, 90])
        assert middle == pytest.approx(normalisation.MNIST_STROKE_WIDTH, abs=0.5)
        assert low == pytest.approx(normalisation.STROKE_WIDTH_RANGE[0], abs=0.8)
        assert high == pytest.approx(normalisation.STROKE_WIDTH_RANGE[1], abs=1.2)
