"""Write the measured tables into README.md and docs/ from the JSON that the benchmarks and training wrote.

    .venv/bin/python -m bench.tables            # rewrites every marked table; a second, --check, fails if stale

A table lives in the README between `<!-- table:NAME -->` and `<!-- /table:NAME -->`; this command
replaces what is between the markers with the table built from its JSON, so no figure there is
typed by hand. Tables:
- `writers`: MNIST test, load_digits and the mfeat development half per model, and the development
  half with a writer's own examples (bench/results/cross_writer.json, `python -m bench.cross_writer`;
  MNIST test accuracy from assets/models/manifest.json).
- `models` (in docs/results.md): each model's MNIST test accuracy against its requirement, log loss,
  artifact size and ensemble weight (assets/reports/metrics.json, `python -m training report`, and
  assets/models/manifest.json).
- `families` (in docs/results.md): every model on each realistic family of MNIST test digits
  (bench/results/family_accuracy.json, `python -m bench.family_accuracy`).
- `augmentation_ideas`, `style_ideas` (in docs/results.md): each re-drawing idea measured for the CNN
  (assets/reports/augmentation_ideas.json and style_ideas.json, `python -m training.augmentation_ideas`
  and `python -m training.style_ideas`); `member_ideas` (in docs/results.md): recipes for the ensemble's
  second CNN (assets/reports/member_ideas.json, `python -m training.member_ideas`).
- `budgets` (in docs/deployment.md): every budgeted figure from the benchmark that measured it
  (bench/budget_table.py).
- `explain` (in docs/app.md): the deletion test of each explanation map and its latency
  (bench/results/explain.json, `python -m bench.explain_bench`).
- `pen_styles` (in docs/results.md): every model on the pen-trajectory styles of other writers
  (bench/results/pen_styles.json, `python -m bench.pen_styles`).
- `numbers` (in docs/numbers.md): read-number's whole-number accuracy per family of MNIST test digits,
  the single digit on the wide canvas and the read's latency (bench/results/number_accuracy.json,
  `python -m bench.number_accuracy`).
- `costs`: what an answer costs on each path, today's code against the previous, side by side in one
  run (bench/results/interleaved_cost.json, request_cost.json and load_side_by_side.json,
  `python -m bench.interleaved_cost --before DIR`, `bench.request_cost` and `bench.load_side_by_side`),
  and what the library costs one process under load (library_share.json, `python -m bench.library_share`;
  gil_handover.json, `python -m bench.gil_handover`; the page's event under load, load_side_by_side_page.json,
  `python -m bench.load_side_by_side --page`).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

from bench import budget_table, page_tables
from bench.cost_tables import costs_table
from bench.page_tables import percent
from digit_models.names import DISPLAY_NAMES

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
CROSS_WRITER = REPOSITORY / "bench" / "results" / "cross_writer.json"
MANIFEST = REPOSITORY / "assets" / "models" / "manifest.json"


def writers_table() -> list[str]:
    """The "Writers beyond MNIST" table and the personal-examples row."""
    measured = json.loads(CROSS_WRITER.read_text())
    manifest = json.loads(MANIFEST.read_text())["models"]
    sets = measured["sets"]
    keys = [key for key in sets["load_digits"]["accuracy"] if key != "ensemble"] + ["ensemble"]
    lines = [
        "| model | MNIST test | load_digits (43 writers) | mfeat development half (scans) |",
        "| --- | --- | --- | --- |",
    ]
    for key in keys:
        name = DISPLAY_NAMES.get(key, f"{key} (ensemble member)")
        mnist = manifest.get(key, {}).get("test_accuracy")
        cells = [
            f"{100 * mnist:.2f}%" if mnist is not None else "",
            percent(sets["load_digits"]["accuracy"][key]),
            percent(sets["mfeat_development"]["accuracy"][key]),
        ]
        bold = "**" if key == "ensemble" else ""
        lines.append(f"| {bold}{name}{bold} | " + " | ".join(f"{bold}{cell}{bold}" for cell in cells) + " |")
    curve = sets["mfeat_development"]["personal"]["rows"]
    guard = measured["personal_on_mnist_test"]
    lines += [
        "",
        "With a writer's own examples (`--personal`, or the page's corrections): the ensemble on the mfeat "
        "development half with that many of its digits per class as examples, scored on the rest "
        f"(mean of {curve[-1]['draws']} random draws); on MNIST's test digits with another writer's 30 examples "
        "loaded, and with one mislabelled example (the worst of "
        f"{guard['one_mislabelled_example']['trials']}):",
        "",
        "| examples per digit | " + " | ".join(str(row["examples_per_digit"]) for row in curve) + " |",
        "| --- |" + " --- |" * len(curve),
        "| mfeat development half | " + " | ".join(percent(row["ensemble_accuracy"]) for row in curve) + " |",
        "",
        "| MNIST test, ensemble | alone | another writer's 30 examples | one mislabelled example |",
        "| --- | --- | --- | --- |",
        f"| accuracy | {100 * guard['plain']:.2f}% | {100 * guard['another_writers_30_examples']:.2f}% | "
        f"{100 * guard['one_mislabelled_example']['lowest']:.2f}% |",
    ]
    return lines


FAMILY_ACCURACY = REPOSITORY / "bench" / "results" / "family_accuracy.json"
RESULTS_PAGE = REPOSITORY / "docs" / "results.md"


def families_table() -> list[str]:
    """Every model on each realistic family of MNIST test digits (bench/results/family_accuracy.json)."""
    return json.loads(FAMILY_ACCURACY.read_text())["markdown"].rstrip("\n").split("\n")


METRICS = REPOSITORY / "assets" / "reports" / "metrics.json"


def models_table() -> list[str]:
    """Each model on MNIST's test set against its requirement (assets/reports/metrics.json), with its
    artifact's size and its weight in the ensemble (assets/models/manifest.json)."""
    models = json.loads(METRICS.read_text())["models"]
    manifest = json.loads(MANIFEST.read_text())["models"]
    weights = manifest["ensemble"]["weights"]
    lines = [
        "| model | test accuracy | required | published anchor | log loss | artifact | ensemble weight |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, row in models.items():
        size = row["size_bytes"]
        cells = [
            f"**{100 * row['accuracy']:.2f}%**",
            f"≥ {100 * row['required_accuracy']:.2f}%",
            row["published_anchor"],
            f"{row['log_loss']:.4f}",
            f"{size / 1e6:.2f} MB" if size else "",
            f"{weights[key]:g}" if key in weights else "",
        ]
        lines.append(f"| {row['name']} | " + " | ".join(cells) + " |")
    extra = [key for key in weights if key not in models]
    total = sum(entry.get("size_bytes") or 0 for entry in manifest.values())
    met = json.loads(METRICS.read_text())["all_required_met"]
    lines += [
        "",
        "The ensemble also weighs "
        + ", ".join(f"`{key}` ({weights[key]:g}, {manifest[key]['size_bytes'] / 1e6:.2f} MB)" for key in extra)
        + f". Every requirement met: {'yes' if met else 'no'}. All artifacts of the manifest: {total / 1e6:.1f} MB.",
    ]
    return lines


TABLES: dict[str, tuple[Path, Callable[[], list[str]]]] = {
    "writers": (README, writers_table),
    "costs": (README, costs_table),
    "models": (RESULTS_PAGE, models_table),
    "families": (RESULTS_PAGE, families_table),
    "numbers": (page_tables.NUMBERS_PAGE, page_tables.numbers_table),
    "budgets": (REPOSITORY / "docs" / "deployment.md", budget_table.budgets_table),
    "explain": (REPOSITORY / "docs" / "app.md", page_tables.explain_table),
    "augmentation_ideas": (
        RESULTS_PAGE,
        lambda: page_tables.ideas_table(page_tables.REPORTS / "augmentation_ideas.json"),
    ),
    "style_ideas": (RESULTS_PAGE, lambda: page_tables.ideas_table(page_tables.REPORTS / "style_ideas.json")),
    "pen_styles": (RESULTS_PAGE, page_tables.pen_styles_table),
    "member_ideas": (RESULTS_PAGE, page_tables.member_ideas_table),
}
"""Each table: the page it lives in, and how it is built from its JSON."""


def fill(text: str, name: str, lines: list[str]) -> str:
    """`text` with the block between the markers of table `name` replaced by `lines`."""
    pattern = re.compile(rf"(<!-- table:{name} -->\n).*?(<!-- /table:{name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"no <!-- table:{name} --> ... <!-- /table:{name} --> markers")
    return pattern.sub(lambda match: match.group(1) + "\n".join(lines) + "\n" + match.group(2), text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tables", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a table differs from its JSON")
    arguments = parser.parse_args(argv)
    stale = []
    for page in dict.fromkeys(page for page, _ in TABLES.values()):
        text = page.read_text()
        updated = text
        for name, (where, build) in TABLES.items():
            if where == page:
                updated = fill(updated, name, build())
        if updated != text:
            stale.append(page.relative_to(REPOSITORY))
            if not arguments.check:
                page.write_text(updated)
    if arguments.check and stale:
        print(f"{', '.join(map(str, stale))}: tables differ from their JSON: run python -m bench.tables")
        return 1
    if not arguments.check:
        print(
            f"{', '.join(TABLES)} written from their JSON"
            + (f" (changed: {', '.join(map(str, stale))})" if stale else "")
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
