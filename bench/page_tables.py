"""The tables of docs/numbers.md, docs/app.md and docs/results.md's idea tables, built from their JSON
(`python -m bench.tables` writes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from digit_models.names import DISPLAY_NAMES

REPOSITORY = Path(__file__).resolve().parent.parent


def percent(value: float) -> str:
    return f"{100 * value:.1f}%"


NUMBER_ACCURACY = REPOSITORY / "bench" / "results" / "number_accuracy.json"
NUMBERS_PAGE = REPOSITORY / "docs" / "numbers.md"


def numbers_table() -> list[str]:
    """read-number's exact whole-number accuracy per family and digit count, the single digit on the wide
    canvas and the 6-digit read's latency (bench/results/number_accuracy.json)."""
    measured = json.loads(NUMBER_ACCURACY.read_text())
    counts = sorted({count for family in measured["families"] for count in family["by_digit_count"]}, key=int)
    lines = [
        f"| family ({measured['digits']} digits) | exact | "
        + " | ".join(f"{count} digits" for count in counts)
        + " | wrong number of digits | median read |",
        "| --- | --- | " + "--- | " * len(counts) + "--- | --- |",
    ]
    for family in measured["families"]:
        by_count = [
            f"{100 * family['by_digit_count'][count]:.1f}" if count in family["by_digit_count"] else ""
            for count in counts
        ]
        lines.append(
            f"| {family['family']} | **{percent(family['exact_accuracy'])}** | "
            + " | ".join(by_count)
            + f" | {family['wrong_digit_count']} of {family['numbers']} | {family['read_ms_median']:.0f} ms |"
        )
    single, latency = measured["single_digit_wide_canvas"], measured["latency_6_digits_1200x400"]
    return [
        *lines,
        "",
        f"A single digit alone on the 1200x400 canvas: **{percent(single['exact_accuracy'])}** of {single['digits']} "
        f"read exactly ({single['not_one_digit']} not read as one digit). A 6-digit number on that canvas, PNG "
        f"decoding included: median **{latency['median_ms']:.1f} ms**, p95 **{latency['p95_ms']:.1f} ms** "
        f"({latency['calls']} reads after loading).",
    ]


EXPLAIN = REPOSITORY / "bench" / "results" / "explain.json"
MAP_NAMES = {
    "integrated_gradients": "integrated gradients",
    "gradient_times_input": "gradient x input",
    "occlusion": "occlusion (4x4, stride 2)",
    "linear_evidence": "weight x pixel",
}


def explain_table() -> list[str]:
    """The deletion test of each explanation map and the explanations' latency (bench/results/explain.json)."""
    measured = json.loads(EXPLAIN.read_text())
    lines = [
        "| model | map | P(answer) falls, top 10% of ink by the map | ... 10% of ink at random | ratio | "
        "digits where the map beats random |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in measured["deletion"].items():
        key, method = name.split("/")
        lines.append(
            f"| {DISPLAY_NAMES.get(key, key)} | {MAP_NAMES.get(method, method)} | {row['salient_drop']:.3f} | "
            f"{row['random_drop']:.3f} | **{row['ratio']:.1f}x** | {row['digits_where_salient_beats_random']} / 100 |"
        )
    latency = measured["latency"]
    per_model = ", ".join(
        f"{DISPLAY_NAMES.get(key, key)} {ms} ms" for key, ms in latency["per_model_median_ms"].items()
    )
    return [
        *lines,
        "",
        f"Latency of `Explainer.explain`, all four models, one image, after loading: median "
        f"**{latency['all_four_median_ms']} ms**, p95 {latency['all_four_p95_ms']} ms ({per_model}; budget "
        f"{latency['budget_ms']} ms).",
    ]


REPORTS = REPOSITORY / "assets" / "reports"
IDEA_COLUMNS = {
    "validation_accuracy": "validation accuracy",
    "validation_log_loss": "validation log loss",
    "load_digits_accuracy": "load_digits",
    "mfeat_development_accuracy": "mfeat development half",
}


def ideas_table(path: Path) -> list[str]:
    """One row per measured idea of a list in `path` (training.augmentation_ideas, training.style_ideas)."""
    ideas = json.loads(path.read_text())
    columns = [key for key in IDEA_COLUMNS if any(key in idea for idea in ideas)]
    lines = ["| idea | " + " | ".join(IDEA_COLUMNS[key] for key in columns) + " |"]
    lines.append("| --- |" + " --- |" * len(columns))
    for idea in ideas:
        cells = [
            "" if key not in idea else f"{idea[key]:.4f}" if "log_loss" in key else f"{100 * idea[key]:.2f}%"
            for key in columns
        ]
        start = f" (from {idea['start']})" if "start" in idea else ""
        start = " (full retraining: the ensemble)" if idea.get("full") else start
        lines.append(f"| {idea['idea']}{start} | " + " | ".join(cells) + " |")
    return lines


def member_ideas_table() -> list[str]:
    """One row per recipe for the ensemble's second CNN (training.member_ideas, assets/reports/member_ideas.json)."""
    ideas = json.loads((REPORTS / "member_ideas.json").read_text())
    lines = [
        "| `cnn_2` trained on | its weight | ensemble: validation accuracy / log loss | re-drawn log loss "
        "| load_digits | mfeat development half |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for idea in ideas.values():
        # Measured as cnn_2, or beside `beside` as a third CNN (--third) or as several extra CNNs (--together).
        configs = list(idea["configs"].values()) if "configs" in idea else [idea["config"]]
        keys = [f"cnn_{number}" for number in range(3, 3 + len(configs))] if "beside" in idea else ["cnn_2"]
        described = "; ".join(recipe(config) for config in configs)
        if "beside" in idea:
            which = "a third CNN" if len(configs) == 1 else "CNNs " + ", ".join(keys)
            described += f", as {which} beside {' and '.join(idea['beside'])}"
        validation, restyled = idea["validation"], idea["validation_restyled"]
        cells = [
            described,
            " / ".join(f"{idea['weights'][key]:g}" for key in keys),
            f"{100 * validation['accuracy']:.2f}% / {validation['log_loss']:.4f}",
            f"{restyled['log_loss']:.4f}",
            f"{100 * idea['load_digits']['ensemble']:.1f}%",
            f"{100 * idea['mfeat_development']['ensemble']:.1f}%",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def recipe(config: dict[str, Any]) -> str:
    """A CNNConfig's training, in words: "pen + low_resolution, 4 epochs, then polished, seed 1"."""
    styles = " + ".join(config["styles"]) or "MNIST's digits alone"
    polished = ", then polished" if config.get("polish_styles") else ""
    return f"{styles}, {config['epochs']} epochs{polished}, seed {config['seed']}"


PEN_STYLES = REPOSITORY / "bench" / "results" / "pen_styles.json"


def pen_styles_table() -> list[str]:
    """Every model on each pen-trajectory style of digit_data.pen_styles (bench/results/pen_styles.json)."""
    styles = json.loads(PEN_STYLES.read_text())["styles"]
    keys = list(next(iter(styles.values()))["accuracy"])
    keys = [key for key in keys if key != "ensemble"] + ["ensemble"]
    lines = [
        "| style (drawings) | " + " | ".join(DISPLAY_NAMES.get(key, key) for key in keys) + " |",
        "| --- |" + " --- |" * len(keys),
    ]
    for name, row in styles.items():
        cells = [f"{100 * row['accuracy'][key]:.0f}%" for key in keys]
        lines.append(f"| {name} ({row['drawings']}) | " + " | ".join(cells) + " |")
    return lines
