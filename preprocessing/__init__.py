"""Any image in, one MNIST-style 28x28 digit out: `to_mnist(source) -> Preprocessed`.

The models were trained on MNIST, where every digit is white ink on black, fitted into a
20x20 box, anti-aliased and centred by mass in 28x28. A drawing or a photo reaches them
only after it has been made to look like that: see `pipeline` for the steps.
"""

import pillow_heif

from preprocessing.loading import MAX_INPUT_BYTES, MAX_INPUT_PIXELS, ImageError
from preprocessing.pipeline import Preprocessed, to_mnist

# iPhones save their photos as HEIC, which Pillow cannot open by itself: registered with Pillow once, when the
# package is first imported, so that every `Image.open` of the process reads them (Gradio's look at an upload
# included). libheif applies the photo's rotation and drops the EXIF orientation, so it is not applied twice.
pillow_heif.register_heif_opener()

__all__ = ["MAX_INPUT_BYTES", "MAX_INPUT_PIXELS", "ImageError", "Preprocessed", "to_mnist"]
