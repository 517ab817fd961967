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
  and what the library costs one process under load (library_share.json, `python -m bench.library_share`).
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

from bench import budget_table, page_tables
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


REQUEST_COST = REPOSITORY / "bench" / "results" / "request_cost.json"
INTERLEAVED_COST = REPOSITORY / "bench" / "results" / "interleaved_cost.json"
PAGE_STROKES = REPOSITORY / "bench" / "results" / "page_strokes_c6d89a7.json"
LOAD_SIDE_BY_SIDE = REPOSITORY / "bench" / "results" / "load_side_by_side.json"
LIBRARY_SHARE = REPOSITORY / "bench" / "results" / "library_share.json"
LOAD_REPLICAS = REPOSITORY / "bench" / "results" / "load_replicas.json"
PATHS = {
    "page_event": "the page's drawing event, uploaded",
    "page_event_blobs": "the same, as the canvas posts it (blobs)",
    "classify_session": "`/classify`, with a session hash",
    "classify_no_session": "`/classify`, without one (curl)",
    "read_number": "`/read_number` (4 digits)",
    "api_classify": "`POST /api/classify` (new)",
}


def ratio(today: float, before: float) -> str:
    return f"{today / before:.2f}x" if before else ""


def costs_table() -> list[str]:
    """What an answer costs, today's code against the previous, measured side by side in one run
    (bench/results/interleaved_cost.json; the floor from request_cost.json; load_side_by_side.json)."""
    interleaved = json.loads(INTERLEAVED_COST.read_text())
    per_path = interleaved["paths"]
    lines = [
        "| one client, requests one after another | app CPU per answer | ratio | p50 |",
        "| --- | --- | --- | --- |",
    ]
    for path, label in PATHS.items():
        # The new route has no previous: it is compared with the previous /classify.
        old = per_path[path].get("before") or per_path["classify_session"]["before"]
        new = per_path[path]["this"]
        lines.append(
            f"| {label} | {old['app_cpu_ms_per_answer']:.1f} -> {new['app_cpu_ms_per_answer']:.1f} ms | "
            f"{ratio(new['app_cpu_ms_per_answer'], old['app_cpu_ms_per_answer'])} | "
            f"{old['p50_ms']:.1f} -> {new['p50_ms']:.1f} ms |"
        )
    strokes = json.loads(PAGE_STROKES.read_text())["median"]
    old, new = strokes["before"]["app_cpu_ms_per_stroke"], strokes["this"]["app_cpu_ms_per_stroke"]
    lines.append(
        f"| a stroke on the real page (Chromium; `bench.page_strokes`) | {old:.0f} -> {new:.0f} ms | "
        f"{ratio(new, old)} | |"
    )
    library = json.loads(REQUEST_COST.read_text())["library_ms_per_image"]
    lines += [
        "",
        "Previous -> today: both apps running, each request sent to one and then the other (mean CPU, "
        "median latency over 200 each); a stroke: Chromium drawing 20 strokes on each app, twice, per stroke "
        "the app's CPU (with what it spends between strokes). The floor, in-process CPU per image: "
        f"decoding and preprocessing {library['decoding_and_preprocessing']:.1f} ms, "
        f"every model and the ensemble {library['every_model_and_the_ensemble']:.1f} ms "
        f"({library['library_total']:.1f} ms in all); the rest of the app's CPU is the HTTP server and Gradio.",
    ]
    if paired := interleaved.get("sessionless_over_session"):
        lines += [
            "",
            "`/classify` without a session hash against with one, the two interleaved request by request in the "
            f"same run: {paired['this']:.2f}x the CPU today, {paired['before']:.2f}x before.",
        ]
    return [*lines, "", *load_table(), "", *library_share_line(), "", *replicas_table()]


def load_table() -> list[str]:
    """20 clients on today's code against the previous, loads alternating (load_side_by_side.json)."""
    load = json.loads(LOAD_SIDE_BY_SIDE.read_text())
    medians, ratios = load["medians"], load["ratios_to_before"]
    columns = ("before_classify", "this_classify", "this_api")
    lines = [
        "| 20 clients, each its own session | previous `/classify` | today `/classify` | today `POST /api/classify` |",
        "| --- | --- | --- | --- |",
    ]
    for label, key, unit in (
        ("throughput", "concurrent_requests_per_second", " req/s"),
        ("p95", "concurrent_p95_ms", " ms"),
        ("errors", "concurrent_errors", ""),
        ("app CPU per request", "app_cpu_ms_per_request", " ms"),
        ("app CPU, cores", "app_cpu_cores", ""),
        ("the load generator's CPU per request", "load_generator_cpu_ms_per_request", " ms"),
        ("machine busy (both cores)", "machine_busy_percent", "%"),
    ):
        cells = [f"{medians[columns[0]][key]:g}{unit}"] + [
            f"{medians[name][key]:g}{unit} ({ratios[name].get(key, 0):.2f}x)"
            if key != "concurrent_errors"
            else f"{medians[name][key]:g}"
            for name in columns[1:]
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def library_share_line() -> list[str]:
    """What bounds one process under 20 clients: the app against itself with some of its library's answers
    remembered (library_share.json)."""
    found = json.loads(LIBRARY_SHARE.read_text())
    as_is, parts = found["medians"]["as_is"], found["remembered_against_as_is"]

    def part(name: str) -> str:
        return (
            f"{parts[name]['app_cpu_ms_per_answer']:g} ms ({parts[name]['share_of_app_cpu']:.0%}; without it"
            f" {parts[name]['throughput_ratio']:.2f}x the throughput, p95 {parts[name]['p95_ratio']:.2f}x)"
        )

    return [
        "What bounds one process under those 20 clients (`bench.library_share`: the same app with some of its"
        " library's work done once per example image, every upload, queue event and stream still made; loads"
        f" alternating): of the {as_is['app_cpu_ms_per_request']:g} ms of app CPU an answer costs there, decoding,"
        f" preprocessing and the models are {part('library')}; decoding and preprocessing alone"
        f" {part('preprocessing')}, the models alone {part('models')}. Gradio's three requests, queue and stream"
        " are the rest."
    ]


def replicas_table() -> list[str]:
    """One process against replicas behind nginx, loads alternating (bench/results/load_replicas.json)."""
    replicas = json.loads(LOAD_REPLICAS.read_text())
    count = len(replicas["memory"]["replicas_mb"])
    lines = [
        f"| 20 clients (`bench.load --compare {count}`) | one process | {count} replicas behind nginx | ratio |",
        "| --- | --- | --- | --- |",
    ]
    for call, label in (("classify", "`/classify`"), ("api", "`POST /api/classify`")):
        found = replicas["calls"][call]
        one, replicated = found["median"]["one_process"], found["median"]["replicas"]
        lines += [
            f"| {label} throughput | {one['requests_per_second']:g} req/s | "
            f"{replicated['requests_per_second']:g} req/s | {found['throughput_ratio']:.2f}x |",
            f"| {label} p95 | {one['p95_ms']:g} ms | {replicated['p95_ms']:g} ms | {found['p95_ratio']:.2f}x |",
        ]
    errors = sum(found["errors"] for found in replicas["calls"].values())
    rounds = len(replicas["calls"]["classify"]["runs"]["one_process"])
    note = (
        f"Both serving at once, {rounds} loads on each per path, alternating which goes first; medians; "
        f"{errors} errors in all."
    )
    return [*lines, "", note]


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
