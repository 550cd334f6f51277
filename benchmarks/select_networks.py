"""The written procedure behind the tuned networks (``ff-<objective>-mlp-tuned``,
``bp-<objective>-mlp-tuned``, ``untrained-<objective>-mlp-tuned``; docs/detectors.md,
"Tuned networks").

For each objective and family (FF and its same-loss twin, separately, the same grid, budget
and problems), every configuration of ``bench.selection.grid()`` is trained on each tuning
split's held-out cluster problem and scored under every declarable rule; the (configuration,
rule) with the highest mean held-out cluster AUROC is the preset (``bench.selection``). The
tuning sets (``tune-*``) are in no reported suite, and the selection reads their training
normals only. Writes ``ff/tuned.json`` (the registry reads it) and prints the choice.
Run (about 12 minutes on one core): ``python benchmarks/select_networks.py``.

Stage 2, ``--tricks`` (issue 22's one-class tricks, ``bench.trick_selection``): reads the
stage-1 choice from ``ff/tuned.json``, tries each trick on top of it and of the default
configuration on the same problems, measures the margin (the stage-1 choices retrained with
two other network seeds) and rewrites the file: a trick is kept only when its gain, averaged
over FF and its twin, exceeds the margin, and then for both. Run after stage 1:
``python benchmarks/select_networks.py --tricks`` (47 min on one core here). Its time box
(an hour on one core): each trick alone, no combination of tricks; the width tricks on
the stage-1 choice only; a base's row without a trick is its stage-1 value (not trained
again); the same 20 tuning splits.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
# this checkout's packages, not an installed copy: the run rewrites this checkout's ff/tuned.json
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from bench import selection, trick_selection  # noqa: E402
from datasets import DATASETS, TUNING_SETS, load_split  # noqa: E402
from ff.hparams import DECLARABLE_RULES  # noqa: E402
from ff.presets import TUNED_FILE  # noqa: E402

SPLITS_PER_SET = 4  # seeds 0-3, the held-out classes in turn: the time box
COMMAND = "python benchmarks/select_networks.py"
TRICKS_COMMAND = f"{COMMAND} && {COMMAND} --tricks"
SHOWN = 5
STAGE_TWO = "Stage 2 (--tricks): "


def tuning_splits() -> list[tuple[str, int, str]]:
    """(tuning set, seed, normal class): seed i with the set's i-th class (cycling)."""
    out = []
    for name in TUNING_SETS:
        classes = DATASETS.get(name).normal_classes
        out += [(name, i, str(classes[i % len(classes)])) for i in range(SPLITS_PER_SET)]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tricks", action="store_true", help="stage 2 (module docstring)")
    tricks = parser.parse_args().tricks
    torch.set_num_threads(1)
    start = time.perf_counter()
    chosen_splits = tuning_splits()
    splits = [load_split(name, cls, seed) for name, seed, cls in chosen_splits]
    configs = selection.grid()

    def done(what: str) -> None:
        print(f"  {time.perf_counter() - start:6.0f} s  {what}", file=sys.stderr, flush=True)

    if tricks:
        return stage_two(splits, chosen_splits, configs[0], done, start)

    result = selection.select(splits, configs, seed=0, done=done)
    record = {
        "command": COMMAND,
        "procedure": "per objective and family (ff, bp), the same grid, budget and problems: "
        "every configuration trained on each tuning split's held-out cluster problem and "
        "scored under every declarable rule; the (configuration, rule) with the highest "
        "mean criterion is the preset (ties: the first in grid order). The untrained control "
        "is the ff preset's network with zero steps. No label of any kind is read.",
        "criterion": selection.CRITERION,
        "search_space": {
            "optimizer, lr": [list(o) for o in selection.OPTIMIZERS],
            "widths": [list(w) for w in selection.WIDTHS],
            "score_layers": list(DECLARABLE_RULES),
        },
        "budget": selection.BUDGET,
        "tuning_splits": [list(s) for s in chosen_splits],
        **result,
    }
    TUNED_FILE.write_text(json.dumps(record, indent=1) + "\n")
    for objective, by_family in result["candidates"].items():
        for family, ranked in by_family.items():
            print(f"{family}-{objective}-mlp: best {SHOWN} of {len(ranked)} candidates")
            for c in ranked[:SHOWN]:
                print(f"  {_label(c)}  criterion {c['criterion']:.4f}")
            sets = ", ".join(f"{k} {v:.3f}" for k, v in ranked[0]["per_set"].items())
            print(f"  chosen, per tuning set: {sets}")
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(splits)} tuning splits, {len(configs)} configurations; {minutes:.1f} min")
    print(f"written: {Path(TUNED_FILE).name}")


def _label(c: dict) -> str:
    return f"{c['optimizer']} lr {c['lr']:g}, widths {c['widths']}, rule {c['score_layers']}"


def stage_two(splits: list, chosen_splits: list, default: dict, done, start: float) -> None:
    """The tricks on top of the recorded stage-1 choice and of ``default`` (``--tricks``)."""
    record = json.loads(TUNED_FILE.read_text())
    if record["tuning_splits"] != [list(s) for s in chosen_splits]:
        raise SystemExit("ff/tuned.json was chosen on other tuning splits: rerun stage 1 first")
    # the stage-1 winners (first candidates), whatever a previous stage 2 chose
    stage1 = {o: {f: stage1_of(record, o, f) for f in by} for o, by in record["candidates"].items()}
    candidates = record["candidates"]  # a base's row without a trick: its stage-1 value
    result = trick_selection.select_tricks(splits, stage1, default, 0, done, candidates)
    for key in ("chosen", "tricks", "gains", "margin"):
        record[key] = result[key]
    record["command"] = TRICKS_COMMAND
    stage1_text = record["procedure"].split(STAGE_TWO)[0].rstrip()
    record["procedure"] = f"{stage1_text} {STAGE_TWO}{trick_selection.PROCEDURE}"
    record["search_space"]["tricks (stage 2)"] = {
        "tricks": trick_selection.TRICKS,
        "on": "the stage-1 choice (every trick) and the default configuration (all but "
        f"{', '.join(trick_selection.WIDTH_TRICKS)}); every declarable rule",
    }
    TUNED_FILE.write_text(json.dumps(record, indent=1) + "\n")
    margin = result["margin"]
    print(f"margin {margin['value']:.4f}: the largest change under reseeds {margin['reseeds']}")
    for objective, by_family in result["tricks"].items():
        for family, rows in by_family.items():
            base = {r["base"]: r["criterion"] for r in rows if r["trick"] == "none"}
            moved = margin["changes"][objective][family]
            print(
                f"{family}-{objective}-mlp (stage 1: {stage1[objective][family]['criterion']:.4f};"
                f" reseeded: {', '.join(f'{c:+.4f}' for c in moved)})"
            )
            for r in rows:
                delta = r["criterion"] - base[r["base"]]
                print(
                    f"  {r['base']:8s} {r['trick']:11s} rule {r['score_layers']:8s} "
                    f"criterion {r['criterion']:.4f} ({delta:+.4f})"
                )
        gains = ", ".join(f"{t} {g:+.4f}" for t, g in sorted(result["gains"][objective].items()))
        print(f"{objective}: gain over stage 1, mean of the families: {gains}")
        for family, chosen in result["chosen"][objective].items():
            print(f"  chosen {family}: {chosen}")
    print(f"stage 2: {(time.perf_counter() - start) / 60:.1f} min; written: {TUNED_FILE.name}")


def stage1_of(record: dict, objective: str, family: str) -> dict:
    """The stage-1 winner of ``record`` (its first candidate), without its per-set values."""
    best = record["candidates"][objective][family][0]
    return {k: v for k, v in best.items() if k != "per_set"}


if __name__ == "__main__":
    main()
