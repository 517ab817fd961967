"""The Number tab's handler: what a person sees of a read number (boxes on their picture)."""

from __future__ import annotations

import numpy as np

from tests.test_webapp_handlers import drawn_one


def test_the_number_tab_draws_its_boxes_on_a_reduced_copy_of_a_big_photo(quick_models, tmp_path):
    """A 24-megapixel phone photo, turned by its EXIF tag: the boxes come back on a screen-sized picture,
    where the JSON's boxes (the input's pixels, rotation applied) land scaled."""
    from PIL import Image

    from webapp.number_tab import DISPLAY_SIDE, SURE_COLOUR, UNSURE_COLOUR, NumberReader

    paper = Image.new("L", (6000, 4000), 255)
    ink = Image.fromarray((255 - 255 * (drawn_one() > 0)).astype(np.uint8)).resize((1200, 1200))
    paper.paste(ink, (2400, 1400))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown turned a quarter: 4000 wide, 6000 high
    path = tmp_path / "photo.jpg"
    paper.convert("RGB").save(path, quality=85, exif=exif)

    reader = NumberReader(quick_models)
    _, picture, _ = reader.show_upload(str(path))
    answer = reader.read_number(str(path))
    assert picture.shape[:2] == (DISPLAY_SIDE, DISPLAY_SIDE * 4000 // 6000)  # (height, width), rotation applied
    assert answer["number"] is not None
    left, top, right, bottom = answer["digits"][0]["box"]
    assert right > 1000 and bottom > 1000  # in the input's pixels, not the reduced copy's
    scale = DISPLAY_SIDE / 6000
    top_edge = picture[round(top * scale) + 1, round(left * scale) + 2 : round(right * scale) - 2]
    assert {tuple(pixel) for pixel in top_edge} <= {SURE_COLOUR, UNSURE_COLOUR}  # the box lands where the digit is
