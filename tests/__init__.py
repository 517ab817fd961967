"""The test suite: a package, so that `tests.` imports never find a top-level `tests` of another
distribution (mvlearn ships one)."""
