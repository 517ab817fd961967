"""digit_models.reading: cut paths through touching ink (cut_paths), and the cut search's scores (cuts)."""

from __future__ import annotations

import math

import numpy as np

from digit_models.reading import cut_paths, cuts, spans
from digit_models.reading.settings import CutSettings
from preprocessing import line_image


def test_a_cut_path_goes_round_an_overhang_without_crossing_ink():
    # A bar from the left digit overhangs the right digit, which starts under it: no straight
    # line separates them, a path that bends under the bar's tip does.
    ink = np.zeros((30, 40), dtype=np.float32)
    ink[2:6, 2:28] = 1.0  # the overhanging bar (left digit)
    ink[2:28, 2:6] = 1.0  # the left digit's stem
    ink[16:28, 20:24] = 1.0  # the right digit, under the bar's tip
    (path,) = cut_paths.cheapest_paths(ink, top=0, left=0, starts=[16], reach=14)
    assert path.cost == 0.0
    columns = np.asarray(path.columns)
    assert columns[:6].min() >= 28  # right of the bar's tip at the top,
    assert columns[16:].max() <= 20  # left of the right digit below it.
    assert np.abs(np.diff(columns)).max() <= 1


def test_a_path_through_touching_strokes_crosses_them_at_their_thinnest():
    ink = np.zeros((20, 30), dtype=np.float32)
    ink[9:11, :] = 1.0  # a horizontal stroke 2 px thick joining both sides
    ink[:, 5:7] = 1.0
    ink[:, 22:24] = 1.0
    (path,) = cut_paths.cheapest_paths(ink, top=0, left=0, starts=[14], reach=5)
    assert math.isclose(path.cost, 2.0)
    assert min(path.columns) >= 7 and max(path.columns) <= 22


def test_between_keeps_the_pixels_right_of_one_path_and_left_of_the_other():
    left = cut_paths.CutPath(top=1, columns=(3, 3, 4), cost=0.0)
    right = cut_paths.CutPath(top=1, columns=(6, 7, 7), cost=0.0)
    mask = cut_paths.between(left, right, (0, 0, 10, 5))
    assert mask[0].all() and mask[4].all()  # rows outside the paths are not limited by them
    assert np.flatnonzero(mask[1]).tolist() == [3, 4, 5]
    assert np.flatnonzero(mask[3]).tolist() == [4, 5, 6]
    assert np.array_equal(cut_paths.between(None, None, (2, 0, 5, 3)), np.ones((3, 3), dtype=bool))


def test_a_digit_far_from_every_training_digit_scores_lower():
    settings = CutSettings(distance_weight=0.5)
    probabilities = np.full(10, 0.01)
    probabilities[3] = 0.91
    near = spans.Reading(probabilities=probabilities, aspect=0.8, height=40.0, distance=2.0)
    far = spans.Reading(probabilities=probabilities, aspect=0.8, height=40.0, distance=6.0)
    assert math.isclose(cuts.digit_log_score(near, settings) - cuts.digit_log_score(far, settings), 2.0)


def test_a_span_the_whole_digit_check_doubts_scores_lower():
    settings = CutSettings(whole_weight=1.0)
    probabilities = np.full(10, 0.01)
    probabilities[1] = 0.91
    whole = spans.Reading(probabilities=probabilities, aspect=0.3, height=40.0, whole=0.9)
    piece = spans.Reading(probabilities=probabilities, aspect=0.3, height=40.0, whole=0.09)
    unknown = spans.Reading(probabilities=probabilities, aspect=0.3, height=40.0)
    assert math.isclose(cuts.digit_log_score(whole, settings) - cuts.digit_log_score(piece, settings), math.log(10))
    assert math.isclose(cuts.digit_log_score(unknown, settings) - cuts.digit_log_score(whole, settings), -math.log(0.9))


def _lattice_of_two_digits() -> tuple[spans.Lattice, spans.Span, spans.Span, spans.Span]:
    """A group 40 columns wide with one candidate cut at column 20: the whole group, or two halves."""
    cut = cut_paths.CutPath(top=0, columns=(20,) * 10, cost=0.0)
    whole = spans.Span(pieces=(1,), box=(0, 0, 40, 10))
    left = spans.Span(pieces=(1,), box=(0, 0, 40, 10), right=cut)
    right = spans.Span(pieces=(1,), box=(0, 0, 40, 10), left=cut)
    found = spans.Lattice(whole=whole, spans={(0, 2): whole, (0, 1): left, (1, 2): right}, cut_costs=[0.0, 0.0, 0.0])
    return found, whole, left, right


def test_the_line_reader_decides_the_cut_and_the_digits_where_the_classifier_is_misled():
    found, whole, left, right = _lattice_of_two_digits()
    # The classifier reads the whole group as a sure 8 and each half as a doubtful 1.
    eight, one = np.full(10, 1e-3), np.full(10, 0.05)
    eight[8], one[1] = 1 - 9e-3, 0.55
    readings = {
        span: spans.Reading(probabilities=p, aspect=0.5, height=10.0)
        for span, p in ((whole, eight), (left, one), (right, one))
    }
    settings = CutSettings()
    assert [chosen.span for chosen in cuts.best_reading(found, readings, settings)] == [whole]
    # The line reader's frames, one per 2 columns: a 7 over the left half, a 3 over the right, blanks between.
    log_frames = np.full((24, 11), math.log(1e-4))
    log_frames[:, 0] = math.log(1 - 10e-4)
    log_frames[6, 1 + 7] = log_frames[17, 1 + 3] = math.log(1 - 10e-4)
    log_frames[6, 0] = log_frames[17, 0] = math.log(1e-4)
    line = line_image.LineFrames(log_frames, left=0.0, scale=1.0)
    chosen = cuts.best_reading(found, readings, settings, cuts.line_scores(found, line, settings))
    assert [digit.span for digit in chosen] == [left, right]
    labels = [
        int(np.argmax(cuts.label_probabilities(readings[d.span].probabilities, d.line, settings))) for d in chosen
    ]
    assert labels == [7, 3]
    # Without weight the line reader changes nothing.
    unweighted_settings = CutSettings(line_weight=0.0)
    unweighted = cuts.best_reading(found, readings, unweighted_settings, cuts.line_scores(found, line, settings))
    assert [digit.span for digit in unweighted] == [whole]


def test_the_cut_search_reads_first_what_the_line_reader_finds_likeliest_and_then_only_what_could_beat_it():
    found, whole, left, right = _lattice_of_two_digits()
    # The line reader sees a 7 over the left half and a 3 over the right one: two digits, not one.
    log_frames = np.full((24, 11), math.log(1e-4))
    log_frames[:, 0] = math.log(1 - 10e-4)
    log_frames[6, 1 + 7] = log_frames[17, 1 + 3] = math.log(1 - 10e-4)
    log_frames[6, 0] = log_frames[17, 0] = math.log(1e-4)
    settings = CutSettings(line_shift=0)
    scores = cuts.line_scores(found, line_image.LineFrames(log_frames, left=0.0, scale=1.0), settings)
    candidates = [whole, left, right]
    assert cuts.likeliest_chain(found, candidates, scores, settings) == [left, right]
    seven, three = np.full(10, 0.05), np.full(10, 0.05)
    seven[7], three[3] = 0.55, 0.55
    readings = {
        left: spans.Reading(probabilities=seven, aspect=0.5, height=10.0, distance=2.0),
        right: spans.Reading(probabilities=three, aspect=0.5, height=10.0, distance=2.0),
    }
    # Read as one digit, the group could at best score the line reader's log P(exactly one digit there),
    # far below the two halves' chain: it is not worth reading.
    assert max(scores[whole]) < 2 * (math.log(0.55) - 2.0)
    assert cuts.could_win(found, candidates, readings, scores, settings) == []
    # The bound is only the line reader's word: without its weight, or with the halves read as less likely
    # than any single digit could be, the whole group must be read.
    assert cuts.could_win(found, candidates, readings, scores, CutSettings(line_weight=0.0)) == [whole]
    doubtful = {
        span: spans.Reading(reading.probabilities, 0.5, 10.0, distance=20.0) for span, reading in readings.items()
    }
    assert cuts.could_win(found, candidates, doubtful, scores, settings) == [whole]
    # With nothing read yet, every candidate is worth reading.
    assert cuts.could_win(found, candidates, {}, scores, settings) == candidates
