"""The tuned presets: what the label-free selection chose (``ff/tuned.json``, written by
``benchmarks/select_networks.py``), read without torch so the registry can list them.

Per objective in the file: ``ff-<objective>-mlp-tuned`` and ``bp-<objective>-mlp-tuned`` take
their family's chosen configuration and rule (with the selection's step budget), and
``untrained-<objective>-mlp-tuned`` is the FF preset's network with zero steps (its rule the
FF preset's), the control a tuned network is read against.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from ff.hparams import TRAINING_KEYS

TUNED_FILE = Path(__file__).with_name("tuned.json")
TUNED_MODES = ("ff", "bp", "untrained")
_CONTROL_OF = "ff"  # the family whose network the untrained control shares
_RECORD_KEYS = ("procedure", "criterion", "search_space", "budget", "tuning_splits", "command")
_STAGE_TWO_KEYS = ("margin", "gains")  # present once stage 2 (--tricks) has run


@cache
def _record() -> dict[str, Any]:
    return json.loads(TUNED_FILE.read_text())


def tuned_objectives() -> tuple[str, ...]:
    """The objectives the selection chose presets for."""
    return tuple(_record()["chosen"])


def _chosen(objective: str, mode: str) -> dict[str, Any]:
    family = _CONTROL_OF if mode == "untrained" else mode
    return dict(_record()["chosen"][objective][family])


def tuned_hparams(objective: str, mode: str) -> dict[str, Any]:
    """The hyperparameters the selection fixed for ``mode`` (over the defaults)."""
    hp = _chosen(objective, mode)
    hp.pop("criterion")
    if mode == "untrained":
        hp = {k: v for k, v in hp.items() if k not in TRAINING_KEYS}
    return hp


def selection_record(objective: str, mode: str) -> str:
    """The selection behind ``mode``'s preset as compact JSON (logged with every run):
    procedure, criterion, search space, budget, tuning splits, command, chosen values, and
    stage 2's margin and per-trick gains when it ran."""
    record = {k: _record()[k] for k in _RECORD_KEYS}
    record.update({k: _record()[k] for k in _STAGE_TWO_KEYS if k in _record()})
    if mode == "untrained":  # the FF preset's network and rule, not its training
        record["chosen"] = tuned_hparams(objective, mode)
        record["control_of"] = f"{_CONTROL_OF}-{objective}-mlp-tuned"
    else:
        record["chosen"] = _chosen(objective, mode)
    return json.dumps(record, separators=(",", ":"))
