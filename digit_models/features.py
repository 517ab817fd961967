"""Feature transforms used inside the scikit-learn pipelines, at training and inference alike.

They are plain module-level functions so that skops can store a pipeline that uses them
(by name, through `FunctionTransformer`) and the app applies exactly the same transform.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

SIDE = 28


def deskew(X: np.ndarray) -> np.ndarray:
    """Straighten slanted digits by a shear that zeroes their second-order mixed moment.

    X: float array (n, 784) of 28x28 images, ink bright, any scale. Returns float32 (n, 784).
    This is the deskewing of LeCun's MNIST table: it lowers KNN's error by a third because
    a slanted 1 and an upright 1 become neighbours.
    """
    images = np.asarray(X, dtype=np.float32).reshape(-1, SIDE, SIDE)
    rows, columns = np.mgrid[:SIDE, :SIDE].astype(np.float32)
    mass = images.sum(axis=(1, 2))
    safe_mass = np.where(mass > 0, mass, 1.0)
    mean_row = (images * rows).sum(axis=(1, 2)) / safe_mass
    mean_column = (images * columns).sum(axis=(1, 2)) / safe_mass
    centred_rows = rows[None] - mean_row[:, None, None]
    centred_columns = columns[None] - mean_column[:, None, None]
    variance_rows = (images * centred_rows**2).sum(axis=(1, 2)) / safe_mass
    covariance = (images * centred_rows * centred_columns).sum(axis=(1, 2)) / safe_mass
    # Column shift per row of height; blank images get no shear.
    shear = np.where((mass > 0) & (variance_rows > 1e-6), covariance / np.maximum(variance_rows, 1e-6), 0.0)
    # The classic deskew moves the centre of mass to (14, 14), where MNIST keeps it.
    centre = SIDE / 2.0
    result = np.empty_like(images)
    for index, image in enumerate(images):
        matrix = np.array([[1.0, 0.0], [shear[index], 1.0]])
        offset = np.array([mean_row[index], mean_column[index]]) - matrix @ np.array([centre, centre])
        result[index] = ndimage.affine_transform(image, matrix, offset=offset, order=1, mode="constant", cval=0.0)
    return result.reshape(len(images), SIDE * SIDE)
