"""Evaluate every model on the test images and write the report: figures, metrics.json, REPORT.md.

All figures go to files (matplotlib's Agg backend); nothing is shown on screen.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

matplotlib.use("Agg")
from matplotlib import pyplot

from digit_models import artifacts
from digit_models.classify import predict_all
from training import beyond_mnist, evaluate, extras_report, splits

# Published results on the same 10,000 test images, for comparison.
ANCHORS = {
    "knn": ("97.63%", "k=4, distance weights, one-pixel shifts (Géron)"),
    "rf": ("97.05%", "100 trees"),
    "sgd": ("about 90%", "linear, with scaling"),
    "cnn": ("99.22%", "Keras example convnet; best single CNNs about 99.65%"),
    "ensemble": ("", ""),
}
REQUIRED = {"knn": 0.976, "rf": 0.970, "sgd": 0.910, "cnn": 0.9955}


def write_report(prepared, models_dir: Path, reports_dir: Path) -> dict[str, Any]:
    """Score all models on prepared.X_test and write everything into reports_dir; returns metrics."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    manifest = artifacts.read_manifest(models_dir)["models"]
    models = artifacts.load_models(models_dir)
    X_test = splits.to_float_images(prepared.X_test)
    y_test = prepared.y_test
    print(f"report: scoring {len(models)} models on {len(y_test):,} test images ...", flush=True)
    probabilities = predict_all(models, X_test)
    latencies = measure_latency(models, X_test[:1])

    metrics: dict[str, Any] = {
        "data": prepared.source,
        "test_images": len(y_test),
        "models": {},
    }
    for key, values in probabilities.items():
        entry = manifest.get(key, {})
        scores = evaluate.accuracy_and_log_loss(values, y_test)
        metrics["models"][key] = {
            "name": artifacts.DISPLAY_NAMES[key],
            **scores,
            "required_accuracy": REQUIRED.get(key),
            "published_anchor": ANCHORS[key][0],
            "per_class": evaluate.per_class_report(values, y_test),
            "confusion_matrix": evaluate.confusion(values, y_test).tolist(),
            "size_bytes": entry.get("size_bytes"),
            "training_seconds": entry.get("training_seconds"),
            "latency_ms_one_image": latencies[key],
            "how_it_works": entry.get("how_it_works", ""),
        }
    best_single = max(metrics["models"][key]["accuracy"] for key in artifacts.MEMBER_KEYS)
    metrics["models"]["ensemble"]["required_accuracy"] = best_single
    metrics["all_required_met"] = (
        all(model["accuracy"] >= model["required_accuracy"] - 1e-12 for model in metrics["models"].values())
        and metrics["models"]["cnn"]["log_loss"] <= 0.02
    )
    print("report: other writers' digits (load_digits) through the whole pipeline ...", flush=True)
    metrics["beyond_mnist"] = beyond_mnist.measure(
        models, manifest, {key: model["accuracy"] for key, model in metrics["models"].items()}
    )
    metrics.update(extras_report.metrics_part(reports_dir))  # Report-only extras, once `training extras` ran.
    (reports_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    figures = {
        "confusion": plot_confusion_matrices(probabilities, y_test, reports_dir / "confusion_matrices.png"),
        "misclassified": plot_misclassified(probabilities, prepared.X_test, y_test, reports_dir),
        "curves": plot_training_curves(reports_dir / "cnn_history.json", reports_dir / "cnn_training_curves.png"),
        "exploration": plot_exploration(prepared, reports_dir),
    }
    write_markdown(metrics, manifest, reports_dir, figures)
    print(f"report: wrote {reports_dir / 'REPORT.md'} and {len(list(reports_dir.glob('*.png')))} figures", flush=True)
    return metrics["models"]["ensemble"] | {
        "test_accuracy": metrics["models"]["ensemble"]["accuracy"],
        "test_log_loss": metrics["models"]["ensemble"]["log_loss"],
    }


def measure_latency(models, image: np.ndarray, repeats: int = 30) -> dict[str, float]:
    """Median milliseconds of predict_proba on one (1, 28, 28) image, per model (ensemble: all members)."""
    latencies = {}
    for key, model in models.items():
        model.predict_proba(image)  # Warm-up: first calls trace graphs and fill caches.
        timings = []
        for _ in range(repeats):
            started = time.perf_counter()
            model.predict_proba(image)
            timings.append((time.perf_counter() - started) * 1000)
        latencies[key] = round(float(np.median(timings)), 2)
    return latencies


def plot_confusion_matrices(probabilities: dict[str, np.ndarray], labels: np.ndarray, path: Path) -> str:
    keys = list(probabilities)
    figure, axes = pyplot.subplots(1, len(keys), figsize=(4.2 * len(keys), 4.4))
    for axis, key in zip(np.atleast_1d(axes), keys, strict=True):
        matrix = evaluate.confusion(probabilities[key], labels)
        # Log colours: the diagonal holds ~1,000 per cell, the errors a handful.
        axis.imshow(np.log1p(matrix), cmap="Blues")
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                colour = "white" if row == column else "black"
                axis.text(column, row, str(count), ha="center", va="center", fontsize=6.5, color=colour)
        accuracy = np.trace(matrix) / matrix.sum()
        axis.set_title(f"{artifacts.DISPLAY_NAMES[key]}\naccuracy {accuracy:.2%}", fontsize=10)
        axis.set_xticks(range(10))
        axis.set_yticks(range(10))
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path.name


def plot_misclassified(
    probabilities: dict[str, np.ndarray], images: np.ndarray, labels: np.ndarray, folder: Path, count: int = 40
) -> list[str]:
    """One grid per model of its first `count` errors, titled 'true -> predicted (confidence)'."""
    names = []
    for key, values in probabilities.items():
        predicted = values.argmax(axis=1)
        wrong = np.flatnonzero(predicted != labels)[:count]
        columns = 10
        rows = max(1, int(np.ceil(len(wrong) / columns)))
        figure, axes = pyplot.subplots(rows, columns, figsize=(columns * 1.1, rows * 1.3))
        for axis in np.ravel(axes):
            axis.axis("off")
        for axis, index in zip(np.ravel(axes), wrong, strict=False):
            axis.imshow(images[index], cmap="gray_r")
            axis.set_title(f"{labels[index]}→{predicted[index]} ({values[index].max():.0%})", fontsize=7.5)
        total = int(np.sum(predicted != labels))
        figure.suptitle(
            f"{artifacts.DISPLAY_NAMES[key]}: {len(wrong)} of {total} errors (true→predicted, confidence)", fontsize=10
        )
        figure.tight_layout()
        path = folder / f"misclassified_{key}.png"
        figure.savefig(path, dpi=100)
        pyplot.close(figure)
        names.append(path.name)
    return names


def plot_training_curves(history_path: Path, path: Path) -> str | None:
    if not history_path.exists():
        return None
    record = json.loads(history_path.read_text())
    history, best_epoch = record["history"], record["best_epoch"]
    epochs = np.arange(1, len(history["loss"]) + 1)
    figure, (loss_axis, accuracy_axis) = pyplot.subplots(1, 2, figsize=(10, 3.8))
    loss_axis.plot(epochs, history["loss"], label="training (augmented)")
    loss_axis.plot(epochs, history["val_loss"], label="validation")
    loss_axis.set_yscale("log")
    loss_axis.set_title("CNN loss")
    accuracy_axis.plot(epochs, history["accuracy"], label="training (augmented)")
    accuracy_axis.plot(epochs, history["val_accuracy"], label="validation")
    accuracy_axis.set_ylim(0.97, 1.0)
    accuracy_axis.set_title("CNN accuracy")
    for axis in (loss_axis, accuracy_axis):
        axis.axvline(best_epoch, color="grey", linestyle=":", label=f"kept epoch {best_epoch}")
        axis.set_xlabel("epoch")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return path.name


def plot_exploration(prepared, folder: Path) -> list[str]:
    """Class distribution, sample digits per class, pixel intensities, mean image per digit."""
    X = np.concatenate([prepared.X_train, prepared.X_val])
    y = np.concatenate([prepared.y_train, prepared.y_val])
    names = []

    figure, axis = pyplot.subplots(figsize=(7, 3.2))
    width = 0.4
    axis.bar(np.arange(10) - width / 2, np.bincount(y, minlength=10), width, label=f"training ({len(y):,})")
    axis.bar(
        np.arange(10) + width / 2,
        np.bincount(prepared.y_test, minlength=10) * len(y) / len(prepared.y_test),
        width,
        label=f"test ({len(prepared.y_test):,}), scaled to training size",
    )
    axis.set_xticks(range(10))
    axis.set_xlabel("digit")
    axis.set_ylabel("images")
    axis.set_title("Class distribution")
    axis.legend(fontsize=8)
    names.append(_save(figure, folder / "class_distribution.png"))

    figure, axes = pyplot.subplots(10, 10, figsize=(7, 7))
    for digit in range(10):
        for column, index in enumerate(np.flatnonzero(y == digit)[:10]):
            axes[digit, column].imshow(X[index], cmap="gray_r")
    for axis in axes.ravel():
        axis.axis("off")
    figure.suptitle("Ten training digits of each class")
    names.append(_save(figure, folder / "sample_digits.png"))

    figure, axis = pyplot.subplots(figsize=(7, 3.2))
    axis.hist(X[:10_000].ravel(), bins=64, log=True, color="tab:gray")
    axis.set_xlabel("pixel value (0 = background, 255 = ink)")
    axis.set_ylabel("pixels (log scale)")
    axis.set_title(f"Pixel intensities: {np.mean(X == 0):.0%} of pixels are exactly 0")
    names.append(_save(figure, folder / "pixel_intensities.png"))

    figure, axes = pyplot.subplots(1, 10, figsize=(11, 1.6))
    for digit, axis in enumerate(axes):
        axis.imshow(X[y == digit].mean(axis=0), cmap="magma")
        axis.set_title(str(digit))
        axis.axis("off")
    figure.suptitle("Mean image of each digit")
    names.append(_save(figure, folder / "mean_digits.png"))
    return names


def _save(figure, path: Path) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)
    return path.name


def write_markdown(metrics: dict[str, Any], manifest: dict[str, Any], folder: Path, figures: dict[str, Any]) -> None:
    lines = [
        "# Model report",
        "",
        "Written by `python -m training report` (also the last step of `python -m training all`).",
        f"Data: {metrics['data']}. Scores on the {metrics['test_images']:,} test images, which chose nothing:",
        "epochs, checkpoints, temperatures, ensemble weights and hyperparameters all came from",
        "cross-validation or the 5,000-image validation split of the training set.",
        "",
        "| model | accuracy | required | published anchor | log loss | size | latency, 1 image | training |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for model in metrics["models"].values():
        size = f"{model['size_bytes'] / 1e6:.1f} MB" if model["size_bytes"] else "(members)"
        training = f"{model['training_seconds'] / 60:.1f} min" if model["training_seconds"] else ""
        required = f"≥ {model['required_accuracy']:.2%}" if model["required_accuracy"] else ""
        lines.append(
            f"| {model['name']} | **{model['accuracy']:.2%}** | {required} | {model['published_anchor']} | "
            f"{model['log_loss']:.4f} | {size} | {model['latency_ms_one_image']:.1f} ms | {training} |"
        )
    lines += [
        "",
        "Training times are those of the run that wrote each artifact, including its grid search; when",
        "several trainings share the two cores they run slower (bench/results/training_time.json times",
        "a full retraining on its own). Latency: median of `predict_proba` on one image, in this process.",
    ]
    lines += ["", "How each model works:", ""]
    lines += [f"- **{model['name']}**: {model['how_it_works']}" for model in metrics["models"].values()]
    ensemble = manifest.get("ensemble", {})
    if ensemble.get("weights"):
        shares = ", ".join(f"{key} {weight:.2f}" for key, weight in ensemble["weights"].items())
        lines += [
            "",
            f"Ensemble weights (learned on {ensemble.get('weights_learned_on', 'validation data')}): {shares}.",
        ]
    lines += ["", *beyond_mnist.markdown(metrics["beyond_mnist"])]
    lines += extras_report.markdown_section(folder)
    lines += per_class_table(metrics)
    lines += [
        "",
        "(precision / recall / F1)",
        "",
        "## Confusion matrices",
        "",
        f"![confusion matrices]({figures['confusion']})",
    ]
    lines += ["", "## Misclassified test digits", ""]
    lines += [f"![{name}]({name})" for name in figures["misclassified"]]
    lines += cnn_section(manifest.get("cnn", {}), figures["curves"])
    lines += ["", "## Tuning (GridSearchCV, 3-fold, un-augmented stratified subset)", ""]
    for key in ("knn", "rf", "sgd"):
        lines += tuning_section(key, manifest.get(key, {}), folder / f"tuning_{key}.json")
    lines += ["", "## The data", ""] + [f"![{name}]({name})" for name in figures["exploration"]]
    (folder / "REPORT.md").write_text("\n".join(lines) + "\n")


def cnn_section(cnn: dict[str, Any], curves: str | None) -> list[str]:
    """The CNN's training curves and what was kept, as markdown lines (none without curves)."""
    if not curves:
        return []
    return [
        "",
        "## CNN training",
        "",
        f"Kept epoch {cnn.get('best_epoch')} (lowest validation loss); temperature "
        f"{cnn.get('temperature', 1):.3f} fitted on validation. Configuration: `{cnn.get('parameters')}`.",
        "",
        f"![CNN training curves]({curves})",
    ]


def per_class_table(metrics: dict[str, Any]) -> list[str]:
    """The per-class precision, recall and F1 of every model, as markdown lines."""
    lines = ["## Per-class precision, recall and F1", ""]
    lines += [
        "| digit | " + " | ".join(model["name"] for model in metrics["models"].values()) + " |",
        "| --- |" + " --- |" * len(metrics["models"]),
    ]
    for digit in map(str, range(10)):
        cells = [
            f"{m['per_class'][digit]['precision']:.3f} / {m['per_class'][digit]['recall']:.3f} / "
            f"{m['per_class'][digit]['f1-score']:.3f}"
            for m in metrics["models"].values()
        ]
        lines.append(f"| {digit} | " + " | ".join(cells) + " |")
    return lines


def tuning_section(key: str, entry: dict[str, Any], path: Path, rows: int = 12) -> list[str]:
    if not path.exists():
        return []
    table = json.loads(path.read_text())
    lines = [
        f"### {artifacts.DISPLAY_NAMES[key]}",
        "",
        f"{len(table)} candidates on {entry.get('tuning_images', 0):,} images; best refitted on "
        f"{entry.get('training_images', 0):,} images"
        + (" (with one-pixel shifts)" if entry.get("shift_augmented") else " (without shifts)")
        + f". Validation accuracy without shifts {entry.get('validation_accuracy_without_shifts', 0):.2%}, "
        f"with shifts {entry.get('validation_accuracy_with_shifts', 0):.2%}.",
        "",
        "| rank | parameters | CV accuracy | CV log loss | fit s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in table[:rows]:
        parameters = ", ".join(f"{name.split('__')[-1]}={value}" for name, value in row["parameters"].items())
        lines.append(
            f"| {row['rank']} | {parameters} | {row['accuracy']:.4f} ± {row['accuracy_std']:.4f} | "
            f"{row['log_loss']:.3f} | {row['fit_seconds']:.1f} |"
        )
    if len(table) > rows:
        lines.append(f"| | ({len(table) - rows} more in `{path.name}`) | | | |")
    return [*lines, ""]
