"""Reading a whole number: an image of several digits -> the digit string, with each digit's answer.

    segmentation  strokes -> groups (grouping) -> cuts of touching groups (spans, cut_paths, cuts)
                  -> one MNIST-style 28x28 crop per digit, left to right
    numbers       every digit model and the ensemble on each crop; DESIGN.md's JSON answer (`read_number`)
    line_reader, whole_digit
                  the two networks that help choose the cuts (not digit models, not ensemble members)
    settings      every tunable number, declared once

It sits above the digit models (it scores crops with them) and below the page, the command line's
`read-number`, training and bench. Only image operations come from `preprocessing`.
"""
