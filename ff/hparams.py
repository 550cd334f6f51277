"""What every network detector is called and takes: names, default hyperparameters, checks.

Torch-free on purpose: the registry (``bench.detectors``) loads it to list detectors, resolve
defaults and refuse a bad ``--param`` before torch is imported; the detectors (``ff.detector``,
``ff.deepsvdd``, ``ff.online``) apply the same checks when they are built.
"""

from __future__ import annotations

from typing import Any

OBJECTIVES = ("goodness", "sigmoid-goodness", "hb-svdd", "sb-svdd", "ls-svdd")
ARCHS = ("mlp", "cnn")
MODES = ("ff", "bp", "bp-ckpt", "bp-accum", "bpl", "untrained")
# the same-loss twin under the two memory savers a practitioner would use (MLP only: the CNN's
# batch normalisation makes accumulation inexact and recomputation update its running stats)
MEMORY_MODES = ("bp-ckpt", "bp-accum")
MODE_TEXT = {
    "ff": "Forward-Forward: every layer trains its own objective on detached inputs",
    "bp": "backprop, same losses: FF's per-layer losses summed, trained end to end (no detach)",
    "bp-ckpt": "backprop, same losses, activation checkpointing: segments of checkpoint_layers "
    "layers (default ceil(sqrt(depth))) recomputed in the backward pass",
    "bp-accum": "backprop, same losses, gradient accumulation: each batch in micro_batches "
    "parts, their gradients summed before one step",
    "bpl": "backprop, last layer: the objective on the last layer only, trained end to end",
    "untrained": "control: the same network and seed, zero training steps",
}
# the rule that gives a mode's headline ``auroc``; every rule is logged for every network
DECLARED_RULE = {
    "ff": "sum",
    "bp": "sum",
    "bp-ckpt": "sum",
    "bp-accum": "sum",
    "bpl": "last",
    "untrained": "sum",
}
# hyperparameters of training, absent from the untrained control
TRAINING_KEYS = (
    "epochs",
    "max_steps",
    "lr",
    "optimizer",
    "weight_decay",
    "radius_update_every",
    "radius_warmup_epochs",
    "centre_eps",
    "variance_floor",
    "pretrain",
)
# issue 22's one-class tricks (ff.tricks), each at the value that turns it off: added after
# results were recorded, so a detector at these values computes what it did before they existed
TRICKS_OFF: dict[str, Any] = {"activation": "leaky_relu", "pretrain": "none", "ensemble": 1}
# the rules a batch network may declare as its headline (ff.base.rules; layer<k> is logged too)
DECLARABLE_RULES = ("last", "sum", "zsum", "rank", "rankmax")
CHOICES: dict[str, tuple[Any, ...]] = {
    "optimizer": ("adam", "sgd"),
    "score_layers": DECLARABLE_RULES,
    "update": ("sequential", "fused"),
    "activation": ("leaky_relu", "tanh"),
    "pretrain": ("none", "autoencoder"),
}


def check_choice(what: str, value: Any, valid: tuple[Any, ...]) -> None:
    """Refuse ``value`` unless it is one of ``valid``, naming both."""
    if value not in valid:
        raise ValueError(f"unknown {what} {value!r}; valid choices: {list(valid)}")


def positive_int(value: Any) -> bool:
    """An int >= 1 (a bool is not an int here)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _non_negative(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


# ---- FF detectors, their twins and the untrained control (ff.detector) ----------------------
def defaults(objective: str, arch: str, mode: str = "ff") -> dict[str, Any]:
    """Default hyperparameters of an (objective, arch, mode), the same for every training rule.

    Fixed before looking at any suite's anomaly labels (README, "How defaults were chosen"):
    Adam at PyTorch's lr 1e-3; weight decay 1e-6, bias-free SVDD layers, nu = 0.1 and the LeNet
    CNNs from Ruff et al. (2018), but nu = 0.9 for ls-svdd (no literature value for our quantile
    radius; chosen by ``benchmarks/choose_defaults.py`` on a problem kept out of every suite,
    same grid for every family); theta = 1; one budget of 30 epochs (MLP) / 20 (CNN) for every
    objective and rule; batch 32 (MLP) / 128 (CNN); MLP widths [128, 64, 32]. Every mode shares
    them; only ``score_layers`` (the headline rule, :data:`DECLARED_RULE`) and ``update`` (FF
    only) differ, and the untrained control has no training keys. ``normalise`` (length
    normalisation between layers) is on by default: FF needs it (without it a layer could read
    the previous layer's goodness from its input's length, Hinton 2022), and the twins share the
    network. For the CNN, ``channels`` and ``rep_dim`` default to None, resolved at fit time
    from the input (one channel: [8, 4] and 32; more: [32, 64, 128] and 128). Goodness
    objectives have ``variance_floor``, their collapse guard, off (0; see
    :class:`ff.objectives.Goodness`). ``activation``, ``pretrain`` and ``ensemble`` (bounded
    activations, autoencoder pretraining, seed ensembles: :mod:`ff.tricks`) are off.
    """
    check_choice("objective", objective, OBJECTIVES)
    check_choice("arch", arch, ARCHS)
    check_choice("mode", mode, MODES)
    if mode in MEMORY_MODES and arch != "mlp":
        raise ValueError(f"{mode} is defined for the mlp only (batch normalisation in the cnn)")
    svdd = objective.endswith("svdd")
    hp: dict[str, Any] = {
        "epochs": 30 if arch == "mlp" else 20,
        "max_steps": None,
        "batch_size": 32 if arch == "mlp" else 128,
        "lr": 1e-3,
        "optimizer": "adam",
        "weight_decay": 1e-6,
        "bias": not svdd and arch == "mlp",
        "normalise": True,
        "theta": 1.0,
        "nu": 0.9 if objective == "ls-svdd" else 0.1,
        "radius_update_every": 1,
        "radius_warmup_epochs": 1,
        "centre_eps": 0.1,
        "leaky_slope": 0.01,
        "score_layers": DECLARED_RULE[mode],
        **TRICKS_OFF,
    }
    if mode == "ff":
        hp["update"] = "sequential"
    if mode == "bp-ckpt":
        hp["checkpoint_layers"] = None  # layers per checkpointed segment; None: ceil(sqrt(L))
    if mode == "bp-accum":
        hp["micro_batches"] = 4
    if not svdd:
        hp["variance_floor"] = 0.0  # the collapse guard, off (ff.objectives.Goodness)
    if mode == "untrained":
        for key in TRAINING_KEYS:
            hp.pop(key, None)
    if arch == "mlp":
        hp["widths"] = [128, 64, 32]
    else:
        hp["channels"] = None
        hp["rep_dim"] = None
    return hp


def validate(hp: dict[str, Any]) -> None:
    """Refuse values ``ff.OneClassDetector`` cannot train with (``ValueError``, naming them)."""
    for key, valid in CHOICES.items():
        if key in hp:
            check_choice(key, hp[key], valid)
    for key in ("epochs", "batch_size", "radius_update_every", "micro_batches", "ensemble"):
        if key in hp and not positive_int(hp[key]):
            raise ValueError(f"{key} must be a positive int, got {hp[key]!r}")
    if hp.get("checkpoint_layers") is not None and not positive_int(hp["checkpoint_layers"]):
        raise ValueError(
            f"checkpoint_layers must be None or a positive int, got {hp['checkpoint_layers']!r}"
        )
    if hp.get("pretrain", "none") != "none" and "widths" not in hp:
        raise ValueError(f"pretrain {hp['pretrain']!r} is defined for the mlp only")
    cap = hp.get("max_steps")
    if cap is not None and not positive_int(cap):
        raise ValueError(f"max_steps must be None or a positive int, got {hp['max_steps']!r}")
    floor = hp.get("variance_floor", 0.0)
    if not _non_negative(floor):
        raise ValueError(f"variance_floor must be a number >= 0, got {floor!r}")
    if not 0.0 < hp["nu"] < 1.0:
        raise ValueError(f"nu must lie in (0, 1), got {hp['nu']!r}")
    if not isinstance(hp["normalise"], bool):
        raise ValueError(f"normalise must be true or false, got {hp['normalise']!r}")
    for key in ("widths", "channels"):
        if hp.get(key) is not None and (not hp[key] or not all(positive_int(w) for w in hp[key])):
            raise ValueError(f"{key} must be a non-empty list of positive ints, got {hp[key]!r}")


# ---- Deep SVDD with Ruff et al.'s published settings (ff.deepsvdd) -------------------------
DSVDD_OBJECTIVES = ("hb-svdd", "sb-svdd")
RUFF_NAME = {"hb-svdd": "one-class", "sb-svdd": "soft-boundary"}
# autoencoder settings of the README's MNIST and CIFAR-10 commands (Deep-SVDD-PyTorch)
AE_MNIST = {"ae_epochs": 150, "ae_lr_milestones": [50], "ae_weight_decay": 5e-4}
AE_CIFAR10 = {"ae_epochs": 350, "ae_lr_milestones": [250], "ae_weight_decay": 5e-7}


def deep_svdd_defaults(objective: str, arch: str) -> dict[str, Any]:
    """Ruff et al.'s settings (README commands of Deep-SVDD-PyTorch) for ``objective``/``arch``.

    For the CNN the autoencoder's epochs, milestones and weight decay are None, resolved at
    fit time from the input (MNIST's command for 1x28x28, CIFAR-10's for 3x32x32).
    """
    check_choice("objective", objective, DSVDD_OBJECTIVES)
    check_choice("arch", arch, ARCHS)
    hp: dict[str, Any] = {
        "epochs": 150,
        "lr_milestones": [50],
        "batch_size": 200,
        "lr": 1e-4,
        "weight_decay": 5e-7,
        "centre_eps": 0.1,
        "leaky_slope": 0.01,
        "pretrain": True,
        "ae_epochs": None,
        "ae_lr_milestones": None,
        "ae_batch_size": 200,
        "ae_lr": 1e-4,
        "ae_weight_decay": None,
        "score_layers": "last",
    }
    if objective == "sb-svdd":
        hp["nu"] = 0.1
        hp["radius_warmup_epochs"] = 10
    if arch == "mlp":
        hp["widths"] = [128, 64, 32]
        hp |= {k: list(v) if isinstance(v, list) else v for k, v in AE_MNIST.items()}
    return hp


def describe_deep_svdd(objective: str, arch: str) -> str:
    """One line for the registry."""
    net = "our bias-free MLP, mirrored decoder" if arch == "mlp" else "Ruff's LeNet by input"
    return (
        f"Deep SVDD ({RUFF_NAME[objective]}) with Ruff et al. 2018's published settings: "
        f"{net}, autoencoder pretraining, Adam 1e-4, 150 epochs, lr x0.1 at 50, batch 200, "
        "no length normalisation, eval-mode centre"
    )


def _milestones(value: Any) -> bool:
    return (
        isinstance(value, list)
        and all(positive_int(m) for m in value)
        and value == sorted(set(value))
    )


def validate_deep_svdd(hp: dict[str, Any]) -> None:
    """Refuse values ``ff.deepsvdd.DeepSVDD`` cannot train with."""
    for key in ("epochs", "batch_size", "ae_batch_size", "ae_epochs"):
        if not (positive_int(hp[key]) or (key == "ae_epochs" and hp[key] is None)):
            raise ValueError(f"{key} must be a positive int, got {hp[key]!r}")
    if "widths" in hp and not (hp["widths"] and all(positive_int(w) for w in hp["widths"])):
        raise ValueError(f"widths must be a non-empty list of positive ints, got {hp['widths']!r}")
    for key in ("lr_milestones", "ae_lr_milestones"):
        if hp[key] is not None and not _milestones(hp[key]):
            raise ValueError(f"{key} must be a list of increasing positive ints, got {hp[key]!r}")
    for key in ("lr", "ae_lr", "weight_decay", "ae_weight_decay", "centre_eps"):
        if hp[key] is not None and not _non_negative(hp[key]):
            raise ValueError(f"{key} must be a number >= 0, got {hp[key]!r}")
    if not isinstance(hp["pretrain"], bool):
        raise ValueError(f"pretrain must be true or false, got {hp['pretrain']!r}")
    check_choice("score_layers", hp["score_layers"], DECLARABLE_RULES)
    if "nu" in hp and not 0.0 < hp["nu"] <= 1.0:
        raise ValueError(f"nu must lie in (0, 1], got {hp['nu']!r}")
    if "radius_warmup_epochs" in hp and not (
        isinstance(hp["radius_warmup_epochs"], int) and hp["radius_warmup_epochs"] >= 0
    ):
        warm = hp["radius_warmup_epochs"]
        raise ValueError(f"radius_warmup_epochs must be an int >= 0, got {warm!r}")


# ---- online learners on a stream (ff.online) -----------------------------------------------
ONLINE_OBJECTIVES = ("goodness", "sigmoid-goodness", "hb-svdd")
ONLINE_MODES = ("ff", "bp", "bpl")
#: Protocol defaults shared by every stream detector (``bench.detectors``): samples per batch
#: (scored, then learned) and warm-up samples (initialisation only, not scored).
STREAM_BATCH = 16
STREAM_WARMUP = 32
_NETWORK_KEYS = (
    "lr",
    "optimizer",
    "weight_decay",
    "bias",
    "normalise",
    "theta",
    "centre_eps",
    "leaky_slope",
    "widths",
    "score_layers",
)


def online_defaults(objective: str, mode: str) -> dict[str, Any]:
    """The batch detector's defaults for the network and optimizer (:func:`defaults`, MLP), the
    stream protocol's ``batch_size`` and ``warmup``; no epochs (one step per batch)."""
    check_choice("online objective", objective, ONLINE_OBJECTIVES)
    check_choice("online mode", mode, ONLINE_MODES)
    base = defaults(objective, "mlp", mode)
    hp = {k: base[k] for k in _NETWORK_KEYS}
    return {**hp, "batch_size": STREAM_BATCH, "warmup": STREAM_WARMUP}


def validate_online(mode: str, hp: dict[str, Any]) -> None:
    """Refuse values ``ff.online.OnlineOneClassLearner`` (``mode``) cannot learn with."""
    valid_rules = ("last",) if mode == "bpl" else ("last", "sum")
    check_choice("online score_layers", hp["score_layers"], valid_rules)
    if not positive_int(hp["batch_size"]):
        raise ValueError(f"batch_size must be a positive int, got {hp['batch_size']!r}")
    if not positive_int(hp["warmup"]):
        raise ValueError(
            f"warmup must be a positive int (SVDD centres and sum scales need warm-up "
            f"samples), got {hp['warmup']!r}"
        )
