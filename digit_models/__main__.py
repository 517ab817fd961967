"""`python -m digit_models predict IMAGE ... [--json]` and `python -m digit_models predict-csv test.csv`."""

from digit_models.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
