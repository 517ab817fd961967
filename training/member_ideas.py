"""Other recipes for the ensemble's second CNN: `python -m training.member_ideas IDEA [IDEA ...]`.

Each idea is a CNNConfig for `cnn_2` with as many training steps as today's (4 epochs of 110,000 digits
= 8 epochs of 55,000), so it fits the same time budget, or more steps, to say what a longer budget would
buy. Each is trained exactly as `python -m training cnn --cnn cnn_2` trains it (`train.train_cnn_model`)
into a scratch copy of the models folder (unless it is already there), then the ensemble's weights are
learned there as `python -m training ensemble` learns them. Scored on what chooses (the validation
digits and their re-drawn copy: the ensemble's weights and log loss) and on the cross-writer development
sets (`digit_models.cross_writer`: load_digits, the mfeat development half). Nothing is chosen on the
test digits. With `--third`, the idea's network is measured as a third CNN beside today's `cnn` and
`cnn_2` instead, and with `--together` all the named ideas' networks at once beside them
(`extra_member_scores`). Appends to assets/reports/member_ideas.json; about 15 min per
8-epoch idea on the 2-core machine (25 min on a slow day).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from digit_models import artifacts
from digit_models.cnn import NO_SHIFT
from training import augmentation, preparation
from training.cnn import MEMBERS, CNNConfig

RESULTS = Path(__file__).resolve().parent.parent / "assets" / "reports" / "member_ideas.json"
SCRATCH = Path(__file__).resolve().parent.parent / ".cache" / "member_ideas"
IDEAS = {
    "pens_4_epochs": MEMBERS["cnn_2"],
    "plain_8_epochs": CNNConfig(epochs=8, seed=1, styles=()),
    "pens_8_epochs": CNNConfig(epochs=8, seed=1, styles=augmentation.PEN_STYLES),
    "pens_4_epochs_polished": CNNConfig(
        epochs=4, seed=1, styles=augmentation.PEN_STYLES, polish_styles=augmentation.PEN_STYLES
    ),
    "cnn_recipe_seed_1": dataclasses.replace(
        MEMBERS["cnn"], seed=1, test_time_shifts=NO_SHIFT, test_time_shift_layer=0
    ),
    "pens_4_epochs_seed_2": dataclasses.replace(MEMBERS["cnn_2"], seed=2),
    "pens_4_epochs_seed_3": dataclasses.replace(MEMBERS["cnn_2"], seed=3),
    "pens_few_points_4_epochs": dataclasses.replace(MEMBERS["cnn_2"], styles=(*augmentation.PEN_STYLES, "few_points")),
    "pens_4_epochs_rotation_20": dataclasses.replace(MEMBERS["cnn_2"], rotation_degrees=20.0),
    "pens_12_epochs_polished": dataclasses.replace(
        MEMBERS["cnn"], seed=2, styles=augmentation.PEN_STYLES, test_time_shifts=NO_SHIFT, test_time_shift_layer=0
    ),
}
"""`cnn_2` as trained today (the pens, 4 epochs), on MNIST's digits alone for as many steps, on the pens
for twice as many steps, and polished like `cnn` (one more epoch, about 1.5 minutes); and `cnn`'s own
recipe (the scanned styles, 12 epochs and the polishing epoch) from another seed, reading each digit
once as `cnn_2` does today (the five reads would cost every answer about a millisecond more); today's
`cnn_2` from two other seeds, which says how far a training's seed alone moves each figure; and `cnn`'s
recipe on the pens alone (no scanned styles), read once, as a third CNN (`--third`); and today's `cnn_2` with
a third of its re-drawn copies traced through a few points (`few_points`), the style that cost `cnn` its
validation figures when `cnn` learned it (docs/results.md); and today's `cnn_2` turned by up to 20 degrees instead
of 10 while it learns (a photo taken at a slant, a phone held askew)."""


def trained_folder(
    name: str,
    config: CNNConfig,
    prepared: preparation.Prepared,
    scratch: Path,
    with_ensemble: bool = True,
    key: str = "cnn_2",
) -> Path:
    """A models folder whose CNN `key` was trained as `config` says, with the ensemble learned on it unless
    `with_ensemble` is False (measured beside today's networks, it learns its own): the committed one when
    that is today's recipe, else a scratch copy (trained unless already there)."""
    from training import ensemble, train

    def trained_as_config(folder: Path) -> bool:
        entry = artifacts.read_manifest(folder)["models"].get(key, {}) if folder.exists() else {}
        # Fields added to CNNConfig after a network was trained are absent from its entry: their defaults.
        parameters = {key: as_tuples(value) for key, value in entry.get("parameters", {}).items()}
        try:
            return bool(parameters) and CNNConfig(**parameters) == config
        except TypeError:  # A field CNNConfig no longer has.
            return False

    if trained_as_config(artifacts.MODELS_DIR):
        return artifacts.MODELS_DIR
    folder = scratch / name / "models"
    if not trained_as_config(folder):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(artifacts.MODELS_DIR, folder)
        train.train_cnn_model(prepared, folder, scratch / name / "reports", key, config)
    if with_ensemble:
        ensemble.train_ensemble(prepared, folder)  # Always: a minute, and the weights follow today's learner.
    return folder


def as_tuples(value: Any) -> Any:
    """A manifest's JSON lists as the tuples CNNConfig holds, nested ones too (test_time_shifts: pairs)."""
    return tuple(as_tuples(item) for item in value) if isinstance(value, list) else value


def scores(folder: Path) -> dict[str, Any]:
    """What the ensemble learned in `folder` (weights, validation figures) and its cross-writer accuracies."""
    from digit_models import cross_writer

    manifest = artifacts.read_manifest(folder)["models"]
    learned = manifest["ensemble"]
    models = artifacts.load_models(folder)
    sets = {name: cross_writer.evaluate(models, name=name)["accuracy"] for name in ("load_digits", "mfeat_development")}
    return {
        "cnn_2_training_seconds": manifest["cnn_2"]["training_seconds"],
        "weights": learned["weights"],
        "validation": learned["member_scores"]["ensemble"]["validation"],
        "validation_restyled": learned["member_scores"]["ensemble"]["validation_restyled"],
        "cnn_2_validation": learned["member_scores"]["cnn_2"]["validation"],
        "cnn_2_validation_restyled": learned["member_scores"]["cnn_2"]["validation_restyled"],
        # cnn_2 alone, when the ensemble holds it (weight above 0), and the ensemble.
        **{
            name: {key: round(value, 4) for key, value in accuracy.items() if key in ("ensemble", "cnn_2")}
            for name, accuracy in sets.items()
        },
    }


THIRD = "cnn_3"
"""The key an idea's network answers by when it is measured beside today's `cnn` and `cnn_2` (`--third`); with
`--together` the ideas answer as cnn_3, cnn_4, ... in the order named."""


def extra_member_scores(folders: list[Path], prepared: preparation.Prepared) -> dict[str, Any]:
    """`scores` for the `cnn_2` of each of `folders` (trained ideas) as extra CNNs, cnn_3, cnn_4, ..., beside the
    committed `cnn` and `cnn_2`: the ensemble's weights learned over all of them as `python -m training ensemble`
    learns them (the validation digits and their re-drawn copy), nothing written to the committed models."""
    from digit_models import cross_writer
    from digit_models.ensemble import EnsembleModel
    from training import ensemble, evaluate

    models = artifacts.load_models()
    keyed = {f"cnn_{number}": folder for number, folder in enumerate(folders, 3)}
    ideas = {key: artifacts.read_manifest(folder)["models"]["cnn_2"] for key, folder in keyed.items()}
    extra = {key: artifacts.load_model(key, ideas[key], folder) for key, folder in keyed.items()}
    members = {**models["ensemble"].members, **extra}
    plain, restyled = ensemble.validation_probabilities(members, prepared)
    weights = ensemble.weights_on_both(plain, restyled, prepared.y_val)
    combined = EnsembleModel(members=members, weights=weights)
    measured = ensemble.member_scores(combined, plain, restyled, prepared.y_val)
    shown = {key: models[key] for key in artifacts.MEMBER_KEYS}
    sets = {
        name: cross_writer.evaluate({**shown, "ensemble": combined}, name=name)["accuracy"]
        for name in ("load_digits", "mfeat_development")
    }
    networks = [key for key in members if key.startswith("cnn")]
    # The usual way of the MNIST ensembles that reach 99.7%: the networks' probabilities averaged alike.
    alike = evaluate.accuracy_and_log_loss(np.mean([plain[key] for key in networks], axis=0), prepared.y_val)
    return {
        "beside": sorted(key for key in networks if key not in extra),
        "each_network_validation": {key: measured[key]["validation"] for key in networks},
        "networks_averaged_alike_validation": alike,
        "cnn_2_training_seconds": sum(idea["training_seconds"] for idea in ideas.values()),
        "weights": weights,
        "validation": measured["ensemble"]["validation"],
        "validation_restyled": measured["ensemble"]["validation_restyled"],
        **{name: {key: round(accuracy[key], 4) for key in ("ensemble", *extra)} for name, accuracy in sets.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.member_ideas", description=__doc__.split("\n\n")[0])
    parser.add_argument("ideas", nargs="+", choices=sorted(IDEAS), metavar="IDEA", help=f"of {sorted(IDEAS)}")
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help=f"where ideas are trained (default {SCRATCH})")
    beside = parser.add_mutually_exclusive_group()
    beside.add_argument(
        "--third", action="store_true", help=f"measure each idea as a third CNN ({THIRD}) beside today's cnn and cnn_2"
    )
    beside.add_argument(
        "--together", action="store_true", help="measure all the ideas at once as cnn_3, cnn_4, ... beside today's"
    )
    arguments = parser.parse_args(argv)
    prepared = preparation.prepare(None, quick=False)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    beside_today = arguments.third or arguments.together
    folders = {
        name: trained_folder(name, IDEAS[name], prepared, arguments.scratch, with_ensemble=not beside_today)
        for name in arguments.ideas
    }
    if arguments.together:
        measured = extra_member_scores(list(folders.values()), prepared)
        configs = {name: dataclasses.asdict(IDEAS[name]) for name in folders}
        record("+".join(folders) + "_together", {"configs": configs, **measured}, measured["weights"], results)
        return 0
    for name, folder in folders.items():
        key = f"{name}_third" if arguments.third else name
        measured = extra_member_scores([folder], prepared) if arguments.third else scores(folder)
        record(key, {"config": dataclasses.asdict(IDEAS[name]), **measured}, measured["weights"], results)
    return 0


def record(key: str, measured: dict[str, Any], weights: dict[str, float], results: dict[str, Any]) -> None:
    """Log one measurement and write it into assets/reports/member_ideas.json under `key` (`results`: the file's)."""
    extra = ", ".join(f"{member} {weight:g}" for member, weight in weights.items() if member.startswith("cnn_"))
    preparation.log(
        f"{key}: weights {extra}, ensemble validation "
        f"{measured['validation']['accuracy']:.2%} / log loss {measured['validation']['log_loss']:.4f}, "
        f"re-drawn {measured['validation_restyled']['log_loss']:.4f}; load_digits "
        f"{measured['load_digits']['ensemble']:.1%}, mfeat development "
        f"{measured['mfeat_development']['ensemble']:.1%}"
    )
    results[key] = measured
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
