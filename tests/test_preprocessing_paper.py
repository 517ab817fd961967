"""The paper a digit is written on, on toy images: a notebook's printed lines (rules.py) and a note lying on a
desk (sheet.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from preprocessing import rules, shadow, sheet


def _ruled(shape: tuple[int, int], gap: int, degrees: float, *, squared: bool = False) -> np.ndarray:
    """bool (h, w): 2-pixel lines every `gap` pixels, tilted by `degrees` (and across them too when `squared`)."""
    rows, columns = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    tilt = np.tan(np.radians(degrees))
    lines = (rows - tilt * columns) % gap < 2
    return lines | ((columns + tilt * rows) % gap < 2) if squared else lines


class TestRules:
    """rules.rule_mask: a notebook's printed lines, not a digit's strokes."""

    @pytest.mark.parametrize("degrees", [0.0, 1.3, -2.7])
    @pytest.mark.parametrize("squared", [False, True])
    def test_finds_a_notebooks_tilted_lines(self, degrees, squared):
        lines = _ruled((200, 160), 37, degrees, squared=squared)
        digit = np.zeros_like(lines)
        digit[60:140, 70:84] = True  # a thick stroke crossing two rules
        mask = rules.rule_mask(lines | digit)
        # Only a line cut short by the image's edge (it crosses too little of it to be told from ink) is left.
        assert not (lines & ~mask)[10:-10, 10:-10].any(), "lines left as ink"
        assert mask[digit & ~lines].mean() < 0.25, "the stroke taken for rules"

    def test_a_lone_line_or_a_digits_bar_is_not_a_rule(self):
        seven = np.zeros((120, 100), dtype=bool)
        seven[10:12, 2:98] = True  # a thin pen's bar across the whole image
        seven[12:110, 60:62] = True
        assert not rules.rule_mask(seven).any()

    def test_thick_parallel_bars_are_not_rules(self):
        bars = np.zeros((120, 100), dtype=bool)
        bars[20:32] = bars[70:82] = True  # two strokes of a digit's width (an "=")
        assert not rules.rule_mask(bars).any()


def _note_on_a_desk(digit: np.ndarray, desk: float = 0.3) -> np.ndarray:
    """float32 (300, 400): a light note (0.9), tilted by 6 degrees, on a desk of level `desk`; the bool (300, 400)
    `digit` written on it in dark ink."""
    rows, columns = np.mgrid[0:300, 0:400].astype(np.float64)
    turn = np.radians(6.0)
    across, down = (columns - 200) * np.cos(turn) + (rows - 150) * np.sin(turn), (rows - 150) * np.cos(turn)
    note = (np.abs(across) < 120) & (np.abs(down - (columns - 200) * np.sin(turn)) < 90)
    image = np.where(note, 0.9, desk).astype(np.float32)
    image[digit] = 0.15
    return ndimage.gaussian_filter(image, 1.0)


class TestSheet:
    """sheet.find_sheet: the note in a photo of a desk, and nothing where there is no desk."""

    def test_finds_the_note_and_the_digit_lies_inside_it(self):
        digit = np.zeros((300, 400), dtype=bool)
        digit[110:190, 250:258] = True  # a 1, near the note's right edge
        found = sheet.find_sheet(_note_on_a_desk(digit), 256)
        assert found is not None
        inside = np.kron(found.inside, np.ones((found.factor, found.factor), dtype=bool))[:300, :400]
        assert inside[digit].all()
        assert not inside[:40].any() and not inside[:, :60].any(), "the desk taken for the note"
        cut, (top, left) = sheet.on_the_sheet(_note_on_a_desk(digit), found)
        assert cut.min() < 0.3 and np.median(cut) > 0.8, "the cut is the note, its digit dark on it"
        assert 40 <= top <= 90 and 60 <= left <= 110

    def test_no_note_under_a_shadows_soft_edge(self):
        rows, columns = np.mgrid[0:300, 0:400].astype(np.float32)
        lit = 1 / (1 + np.exp((columns + 0.5 * rows - 260) / 25))  # a hand's shadow across the right half
        paper = 0.9 - 0.7 * (1 - lit)
        paper[100:200, 140:150] = 0.1
        # The lit part passes every other test (light, nearly convex, dark round it along half the border).
        assert sheet.find_sheet(paper.astype(np.float32), 256) is None

    def test_no_note_inside_a_frame_filling_zero(self):
        rows, columns = np.mgrid[0:128, 0:120].astype(np.float32)
        radius = np.hypot((rows - 64) / 62, (columns - 60) / 56)
        # Thick strokes running off every edge; the paper in the corners is a tenth of what lies round the inside.
        zero = np.where((radius > 0.5) & (radius < 1.2), 0.1, 1.0).astype(np.float32)
        assert sheet.find_sheet(zero, 256) is None


class TestShadow:
    """shadow.evened_out: a sharp-edged shadow taken out of the paper, and a thick digit's blobs not taken for one."""

    def test_a_sharp_shadow_is_evened_out_and_the_ink_stays(self):
        rows, columns = np.mgrid[0:300, 0:400].astype(np.float32)
        shade = 1 / (1 + np.exp((columns + 0.5 * rows - 300) / 1.5))  # a phone's shadow over the left part, edge 3 px
        paper = 0.9 * (1 - 0.5 * shade)
        paper[100:200, 300:308] = 0.1  # a 1 in the light...
        paper[120:200, 60:68] *= 0.2  # ...and one in the shade
        evened = shadow.evened_out(paper.astype(np.float32), 256)
        assert evened is not None
        away = np.zeros(paper.shape, dtype=bool)
        away[40:-40, 40:-40] = True  # within a window of the border, the closing sees the image mirrored
        away[90:210, 290:318] = away[110:210, 50:78] = False
        assert np.abs(evened.gray[away] - 1).max() < 0.1, "the shadow's edge is left on the paper"
        assert evened.gray[130:190, 302:306].max() < 0.2 and evened.gray[140:190, 62:66].max() < 0.3

    def test_a_thick_digits_blobs_are_not_taken_for_a_shadow(self):
        """load_digits' digit 1452 (a 9, enlarged to 128 px) passed every other test: what was left of it on the
        evened image is thick beside the shade its blobs made."""
        from sklearn.datasets import load_digits

        from digit_data.writers import to_realistic_image
        from preprocessing import detection

        image = to_realistic_image(load_digits().images[1452]).astype(np.float32) / 255
        evened = shadow.evened_out(image, 256)
        assert evened is not None
        found = detection.detect(evened.gray)
        assert not shadow.written_on_the_paper(found, evened)
        # The one test that refuses it.
        assert found.inverted and not found.reaches_border and found.extent <= shadow.DIGIT_MAX_EXTENT
        assert not shadow.shade_wider_than_strokes(evened, found.support)

    @pytest.mark.parametrize("index", [109, 906, 1327, 1633])
    def test_a_thick_digit_on_the_border_is_not_painted_over(self, index, monkeypatch):
        """load_digits' digits that fill the frame, whose blobs were taken for shade: on the evened image the digit
        found is on the border, and it is what lies there. Painted over (as the shade's edge on the border is), specks
        were left and read; BORDER_PIECES_MAX_SHARE keeps them as they were."""
        from sklearn.datasets import load_digits

        from digit_data.writers import to_realistic_image
        from preprocessing import detection, to_mnist

        image = to_realistic_image(load_digits().images[index])
        evened = shadow.evened_out(image.astype(np.float32) / 255, 256)
        found = detection.detect(evened.gray)
        assert found.reaches_border and shadow.without_border_pieces(evened.gray, found) is None
        kept = to_mnist(image)
        monkeypatch.setattr(shadow, "BORDER_PIECES_MAX_SHARE", 1.0)
        assert shadow.without_border_pieces(evened.gray, found) is not None
        assert np.abs(to_mnist(image).image - kept.image).max() > 0.1
