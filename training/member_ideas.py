"""Other recipes for the ensemble's second CNN: `python -m training.member_ideas IDEA [IDEA ...]`.

Each idea is a CNNConfig for `cnn_2` with as many training steps as today's (4 epochs of 110,000 digits
= 8 epochs of 55,000), so it fits the same time budget, or more steps, to say what a longer budget would
buy. Each is trained exactly as `python -m training cnn --cnn cnn_2` trains it (`train.train_cnn_model`)
into a scratch copy of the models folder (unless it is already there), then the ensemble's weights are
learned there as `python -m training ensemble` learns them. Scored on what chooses (the validation
digits and their re-drawn copy: the ensemble's weights and log loss) and on the cross-writer development
sets (`digit_models.cross_writer`: load_digits, the mfeat development half). Nothing is chosen on the
test digits. With `--third`, the idea's network is measured as a third CNN beside today's `cnn` and
`cnn_2` instead (`third_member_scores`). Appends to assets/reports/member_ideas.json; about 15 min per
8-epoch idea on the 2-core machine (25 min on a slow day).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

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
}
"""`cnn_2` as trained today (the pens, 4 epochs), on MNIST's digits alone for as many steps, on the pens
for twice as many steps, and polished like `cnn` (one more epoch, about 1.5 minutes); and `cnn`'s own
recipe (the scanned styles, 12 epochs and the polishing epoch) from another seed, reading each digit
once as `cnn_2` does today (the five reads would cost every answer about a millisecond more); and today's
`cnn_2` from two other seeds, which says how far a training's seed alone moves each figure."""


def trained_folder(name: str, config: CNNConfig, prepared: preparation.Prepared, scratch: Path) -> Path:
    """A models folder whose `cnn_2` was trained as `config` says, with the ensemble learned on it: the
    committed one when that is today's recipe, else a scratch copy (trained unless already there)."""
    from training import ensemble, train

    def trained_as_config(folder: Path) -> bool:
        entry = artifacts.read_manifest(folder)["models"].get("cnn_2", {}) if folder.exists() else {}
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
        train.train_cnn_model(prepared, folder, scratch / name / "reports", "cnn_2", config)
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
"""The key an idea's network answers by when it is measured beside today's `cnn` and `cnn_2` (`--third`)."""


def third_member_scores(folder: Path, prepared: preparation.Prepared) -> dict[str, Any]:
    """`scores` for the `cnn_2` of `folder` (a trained idea) as a third CNN, `THIRD`, beside the committed `cnn`
    and `cnn_2`: the ensemble's weights learned over all of them as `python -m training ensemble` learns them
    (the validation digits and their re-drawn copy), nothing written to the committed models."""
    from digit_models import cross_writer
    from digit_models.ensemble import EnsembleModel
    from training import ensemble

    models = artifacts.load_models()
    idea = artifacts.read_manifest(folder)["models"]["cnn_2"]
    members = {**models["ensemble"].members, THIRD: artifacts.load_model(THIRD, idea, folder)}
    plain, restyled = ensemble.validation_probabilities(members, prepared)
    weights = ensemble.weights_on_both(plain, restyled, prepared.y_val)
    combined = EnsembleModel(members=members, weights=weights)
    measured = ensemble.member_scores(combined, plain, restyled, prepared.y_val)
    shown = {key: models[key] for key in artifacts.MEMBER_KEYS}
    sets = {
        name: cross_writer.evaluate({**shown, "ensemble": combined}, name=name)["accuracy"]
        for name in ("load_digits", "mfeat_development")
    }
    return {
        "beside": sorted(key for key in members if key.startswith("cnn") and key != THIRD),
        "cnn_2_training_seconds": idea["training_seconds"],
        "weights": weights,
        "validation": measured["ensemble"]["validation"],
        "validation_restyled": measured["ensemble"]["validation_restyled"],
        **{name: {key: round(accuracy[key], 4) for key in ("ensemble", THIRD)} for name, accuracy in sets.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.member_ideas", description=__doc__.split("\n\n")[0])
    parser.add_argument("ideas", nargs="+", choices=sorted(IDEAS), metavar="IDEA", help=f"of {sorted(IDEAS)}")
    parser.add_argument("--scratch", type=Path, default=SCRATCH, help=f"where ideas are trained (default {SCRATCH})")
    parser.add_argument(
        "--third", action="store_true", help=f"measure each idea as a third CNN ({THIRD}) beside today's cnn and cnn_2"
    )
    arguments = parser.parse_args(argv)
    prepared = preparation.prepare(None, quick=False)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in arguments.ideas:
        config = IDEAS[name]
        folder = trained_folder(name, config, prepared, arguments.scratch)
        key, member = (f"{name}_third", THIRD) if arguments.third else (name, "cnn_2")
        measured = third_member_scores(folder, prepared) if arguments.third else scores(folder)
        results[key] = {"config": dataclasses.asdict(config), **measured}
        preparation.log(
            f"{key}: weight {measured['weights'][member]:g}, ensemble validation "
            f"{measured['validation']['accuracy']:.2%} / log loss {measured['validation']['log_loss']:.4f}, "
            f"re-drawn {measured['validation_restyled']['log_loss']:.4f}; load_digits "
            f"{measured['load_digits']['ensemble']:.1%}, mfeat development "
            f"{measured['mfeat_development']['ensemble']:.1%}"
        )
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
