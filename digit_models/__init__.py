"""Digit models behind one interface, `predict_proba(images) -> (n, 10)`, and their artifacts."""

import os

# TensorFlow's start-up chatter (oneDNN notices, absl info lines) is not for users; it must be
# set before TensorFlow is first imported, whichever module imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
