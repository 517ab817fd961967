"""Saliency maps over the 28x28 model input: which pixels pushed a model towards its answer.

Every map is float64 (28, 28), signed: positive pixels pushed the model towards the digit
it chose, negative ones against it. Three kinds, one per model family:
- `linear_evidence`: the linear model's weight times input, exact (it sums, with the
  intercept, to the decision score), mapped back through the deskewing it applies first;
- `integrated_gradients` (and `gradient_times_input`, kept for comparison): the CNN's
  gradients along a straight path from a blank image to the input;
- `occlusion`: the drop in a model's probability when a small square of the input is blanked,
  for any model (the random forest has no gradients).
`deletion_drops` measures how faithful a map is: blanking the ink it ranks highest must
lower the model's probability more than blanking as much ink at random.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import sparse

SIDE = 28
OCCLUSION_PATCH = 4
"""Side of the blanked square: about a stroke's width in MNIST (strokes are 2-4 px)."""
OCCLUSION_STRIDE = 2
"""Step between squares; with a 4 px patch every pixel is covered by up to 4 squares."""
INTEGRATED_GRADIENT_STEPS = 32
"""Points on the path from blank to the input; 32 keep the completeness error below a few % here."""
INK_THRESHOLD = 0.5
"""A pixel at least half-bright is ink; fainter ones are the anti-aliased edge of a stroke."""


# --- The linear model ----------------------------------------------------------------


def deskew_matrix(image: np.ndarray) -> sparse.csr_matrix:
    """The deskewing of this image as a linear map: deskew(image).ravel() == matrix @ image.ravel().

    image: float (28, 28). Returns a sparse (784, 784) matrix of the bilinear weights that
    `digit_models.features.deskew` applies (its shear and centring depend on the image's
    moments, so the matrix belongs to this image). Its transpose carries evidence measured on
    the deskewed image back to the pixels of the input.
    """
    image = np.asarray(image, dtype=np.float32).reshape(SIDE, SIDE)
    rows, columns = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    # The same moments, in the same float32 arithmetic, as features.deskew.
    mass = image.sum()
    safe_mass = mass if mass > 0 else np.float32(1.0)
    mean_row = (image * rows).sum() / safe_mass
    mean_column = (image * columns).sum() / safe_mass
    centred_rows, centred_columns = rows - mean_row, columns - mean_column
    variance_rows = (image * centred_rows**2).sum() / safe_mass
    covariance = (image * centred_rows * centred_columns).sum() / safe_mass
    shear = covariance / max(variance_rows, 1e-6) if mass > 0 and variance_rows > 1e-6 else 0.0
    centre = SIDE / 2.0
    matrix = np.array([[1.0, 0.0], [shear, 1.0]])
    offset = np.array([mean_row, mean_column]) - matrix @ np.array([centre, centre])
    output_rows, output_columns = rows.ravel().astype(np.float64), columns.ravel().astype(np.float64)
    input_rows = output_rows + offset[0]
    input_columns = shear * output_rows + output_columns + offset[1]
    # scipy's mode="constant" gives 0 outside [0, 27] and interpolates inside.
    inside = (input_rows >= 0) & (input_rows <= SIDE - 1) & (input_columns >= 0) & (input_columns <= SIDE - 1)
    row0, column0 = np.floor(input_rows).astype(int), np.floor(input_columns).astype(int)
    row_fraction, column_fraction = input_rows - row0, input_columns - column0
    targets, sources, weights = [], [], []
    for row_step in (0, 1):
        for column_step in (0, 1):
            weight = (row_fraction if row_step else 1 - row_fraction) * (
                column_fraction if column_step else 1 - column_fraction
            )
            source = np.clip(row0 + row_step, 0, SIDE - 1) * SIDE + np.clip(column0 + column_step, 0, SIDE - 1)
            targets.append(np.flatnonzero(inside))
            sources.append(source[inside])
            weights.append(weight[inside])
    return sparse.csr_matrix(
        (np.concatenate(weights), (np.concatenate(targets), np.concatenate(sources))), shape=(SIDE * SIDE,) * 2
    )


def linear_evidence(pipeline, image: np.ndarray, digit: int) -> dict[str, np.ndarray | float]:
    """Per-pixel evidence of a linear pipeline (deskew? -> scale? -> linear model) for `digit`.

    image: float32 (28, 28) in [0, 1], the model input. Returns
    - "saliency": float64 (28, 28) over the input pixels; saliency.sum() + intercept == score;
    - "intercept": the class's intercept, shifted by what scaling adds to every image;
    - "score": the model's decision score for `digit`;
    - "template": float64 (28, 28), the class's weights on the (deskewed) image the linear
      model reads: bright where ink counts for the digit, dark where it counts against.
    """
    steps = dict(pipeline.steps)
    linear = pipeline.steps[-1][1]
    column = int(np.flatnonzero(np.asarray(linear.classes_) == digit)[0])
    weights = np.asarray(linear.coef_[column], dtype=np.float64)
    intercept = float(linear.intercept_[column])
    scaler = steps.get("scale")
    if scaler not in (None, "passthrough"):
        # w . (d - mean) / scale = (w / scale) . d - w . mean / scale: the constant joins the intercept.
        scale = scaler.scale_ if scaler.scale_ is not None else 1.0
        mean = scaler.mean_ if scaler.mean_ is not None else 0.0
        weights = weights / scale
        intercept -= float(np.sum(weights * mean))
    pixels = np.asarray(image, dtype=np.float64).ravel()
    if steps.get("deskew") not in (None, "passthrough"):
        # Evidence w . (A x) = (A^T w) . x: each input pixel gets the weights it was moved onto.
        effective = deskew_matrix(image).T @ weights
    else:
        effective = weights
    evidence = effective * pixels
    row = pipeline[:-1].transform(pixels.astype(np.float32)[None]) if len(pipeline) > 1 else pixels[None]
    score = float(linear.decision_function(row)[0, column])
    return {
        "saliency": evidence.reshape(SIDE, SIDE),
        "intercept": intercept,
        "score": score,
        "template": weights.reshape(SIDE, SIDE),
    }


# --- Any model: occlusion ------------------------------------------------------------


def occlusion(
    predict_proba: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    digit: int,
    *,
    patch: int = OCCLUSION_PATCH,
    stride: int = OCCLUSION_STRIDE,
) -> np.ndarray:
    """How much blanking each patch x patch square lowers the probability of `digit`.

    image: float32 (28, 28) in [0, 1]. Every square holding ink is blanked in its own copy and
    all copies go through one predict_proba call. Each pixel gets the mean drop of the squares
    covering it: float64 (28, 28), positive where the ink there supported `digit`.
    """
    image = np.asarray(image, dtype=np.float32)
    corners = [
        (top, left)
        for top in range(0, SIDE - patch + 1, stride)
        for left in range(0, SIDE - patch + 1, stride)
        if image[top : top + patch, left : left + patch].any()  # Blanking a blank square changes nothing.
    ]
    if not corners:
        return np.zeros((SIDE, SIDE))
    copies = np.repeat(image[None], len(corners) + 1, axis=0)
    for number, (top, left) in enumerate(corners, start=1):
        copies[number, top : top + patch, left : left + patch] = 0.0
    probabilities = np.asarray(predict_proba(copies))[:, digit]
    drops = probabilities[0] - probabilities[1:]
    total, coverage = np.zeros((SIDE, SIDE)), np.zeros((SIDE, SIDE))
    for drop, (top, left) in zip(drops, corners, strict=True):
        total[top : top + patch, left : left + patch] += drop
        coverage[top : top + patch, left : left + patch] += 1
    return np.divide(total, coverage, out=np.zeros_like(total), where=coverage > 0)


# --- The CNN: gradients ----------------------------------------------------------------


class GradientSaliency:
    """Gradients of a Keras network's logit for one class, compiled once per network.

    network maps float32 (b, 28, 28, 1) to logits (b, 10).
    """

    def __init__(self, network) -> None:
        import tensorflow as tf

        def gradients(batch, digit):
            with tf.GradientTape() as tape:
                tape.watch(batch)
                logit = tf.gather(network(batch, training=False), digit, axis=1)
            return tape.gradient(logit, batch)

        self._gradients = tf.function(
            gradients,
            input_signature=[tf.TensorSpec([None, SIDE, SIDE, 1], tf.float32), tf.TensorSpec([], tf.int32)],
            reduce_retracing=True,
        )

    def gradients(self, images: np.ndarray, digit: int) -> np.ndarray:
        """d logit[digit] / d pixel for float32 images (n, 28, 28): float64 (n, 28, 28)."""
        batch = np.asarray(images, dtype=np.float32)[..., None]
        return self._gradients(batch, np.int32(digit)).numpy()[..., 0].astype(np.float64)

    def integrated_gradients(self, image: np.ndarray, digit: int, *, steps: int = INTEGRATED_GRADIENT_STEPS):
        """Integrated gradients from a blank image: float64 (28, 28) summing to about logit(x) - logit(0).

        The path's points go through the network as one batch.
        """
        image = np.asarray(image, dtype=np.float32)
        alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)  # Midpoints of the path's steps.
        path = alphas[:, None, None] * image[None]
        return image.astype(np.float64) * self.gradients(path, digit).mean(axis=0)

    def gradient_times_input(self, image: np.ndarray, digit: int) -> np.ndarray:
        """The gradient at the input times the input: float64 (28, 28); one backward pass."""
        image = np.asarray(image, dtype=np.float32)
        return image.astype(np.float64) * self.gradients(image[None], digit)[0]


# --- Faithfulness ----------------------------------------------------------------------


def deletion_drops(
    predict_proba: Callable[[np.ndarray], np.ndarray],
    image: np.ndarray,
    digit: int,
    saliency: np.ndarray,
    *,
    fraction: float = 0.1,
    random_repeats: int = 10,
    seed: int = 0,
) -> tuple[float, float]:
    """(salient drop, random drop): how much blanking a fraction of the ink lowers P(digit).

    The salient copy blanks the `fraction` of ink pixels (>= INK_THRESHOLD) that `saliency`
    ranks highest; the random copies blank as many ink pixels chosen at random, and their drops
    are averaged. All copies go through one predict_proba call.
    """
    image = np.asarray(image, dtype=np.float32)
    ink = np.flatnonzero(image.ravel() >= INK_THRESHOLD)
    count = max(1, round(fraction * len(ink)))
    ranked = ink[np.argsort(-np.asarray(saliency).ravel()[ink], kind="stable")]
    generator = np.random.default_rng(seed)
    chosen = [ranked[:count]] + [generator.choice(ink, size=count, replace=False) for _ in range(random_repeats)]
    copies = np.repeat(image.reshape(1, -1), len(chosen) + 1, axis=0)
    for number, pixels in enumerate(chosen, start=1):
        copies[number, pixels] = 0.0
    probabilities = np.asarray(predict_proba(copies.reshape(-1, SIDE, SIDE)))[:, digit]
    drops = probabilities[0] - probabilities[1:]
    return float(drops[0]), float(drops[1:].mean())
