"""The detector registry: every detector the benchmark can run is one entry here (a
:class:`~bench.detector_spec.DetectorSpec`); plugins add theirs (:mod:`bench.plugins`)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from functools import partial
from typing import Any

import ff.hparams as ffhp
import ff.presets as ffpresets
from baselines.pyod_detector import PyODDetector, model_defaults
from baselines.reference import InputNorm
from baselines.streaming import RIVER_MODELS, RiverStreamDetector, river_defaults, river_description
from bench.detector_spec import DetectorSpec, Lazy
from core.registry import Registry


def _unchecked(hparams: dict[str, Any]) -> None:
    """PyOD's estimators check their keywords when they are built, in ``fit``."""


DETECTORS: Registry[DetectorSpec] = Registry("detector")


def _add(spec: DetectorSpec) -> None:
    DETECTORS.add(spec.name, spec)


# --- Forward-Forward detectors, their two backprop twins and the untrained control ---
# ff: per-layer objectives, detached inputs; bp: the same losses end to end (differs from ff
# only in gradient flow); bpl: the last-layer objective end to end (the Deep SVDD way), also
# without length normalisation (-nonorm, Deep SVDD's standard network); untrained: zero steps.
# bp-ckpt / bp-accum: the same-loss twin with activation checkpointing or gradient
# accumulation (family bp: the same function, trained with less memory; MLP only).
# Versions: ff/bp 2 (every rule logged, shared defaults; bp became the same-loss twin); every
# mode +1 for the calibrated rules zsum, rank, rankmax (issue 22).
_VERSIONS = {"ff": 3, "bp": 3, "bp-ckpt": 2, "bp-accum": 2, "bpl": 2, "untrained": 2}
_TWIN = {"ff": "bp", "bp": "ff", "bp-ckpt": "ff", "bp-accum": "ff", "bpl": "ff", "untrained": "ff"}
_FAMILY = {"untrained": "ref", "bp-ckpt": "bp", "bp-accum": "bp"}
# fixed-hyperparameter variants (name suffix, fixed values); -nonorm is compared with its
# base detector, -each (a checkpoint around every layer, the least memory checkpointing
# can reach) with FF, like its base
_PLAIN = (("", {}),)
_VARIANTS = {
    "bpl": (*_PLAIN, ("-nonorm", {"normalise": False})),
    "bp-ckpt": (*_PLAIN, ("-each", {"checkpoint_layers": 1})),
}
_VARIANT_TWIN = {"-nonorm": "bpl"}
_VARIANT_TEXT = {"-nonorm": "; no length normalisation", "-each": "; one layer per segment"}
for _objective in ffhp.OBJECTIVES:
    for _arch in ffhp.ARCHS:
        _core = f"{_objective}-{_arch}"
        for _mode in ffhp.MODES:
            if _mode in ffhp.MEMORY_MODES and _arch != "mlp":
                continue
            for _suffix, _fixed in _VARIANTS.get(_mode, _PLAIN):
                _add(
                    DetectorSpec(
                        name=f"{_mode}-{_core}{_suffix}",
                        family=_FAMILY.get(_mode, _mode),
                        factory=Lazy("ff.detector", "OneClassDetector", (_objective, _arch, _mode)),
                        defaults={**ffhp.defaults(_objective, _arch, _mode), **_fixed},
                        objective=_objective,
                        arch=_arch,
                        twin=f"{_VARIANT_TWIN.get(_suffix, _TWIN[_mode])}-{_core}",
                        inputs="images" if _arch == "cnn" else "any",
                        version=_VERSIONS[_mode],
                        description=f"{_objective} on a {_arch}; {ffhp.MODE_TEXT[_mode]}"
                        + _VARIANT_TEXT.get(_suffix, ""),
                        check=ffhp.validate,
                        neutral=ffhp.TRICKS_OFF,
                    )
                )

# --- Tuned networks: the configuration and rule a label-free selection chose on the tuning
# sets (ff/tuned.json, written by benchmarks/select_networks.py; bench.selection), per family
# with the same grid and budget; the untrained control is the ff preset's network, zero steps.
# Stage 2 (the one-class tricks) kept none, so every preset computes what stage 1 chose.
for _objective in ffpresets.tuned_objectives():
    for _mode in ffpresets.TUNED_MODES:
        _core = f"{_objective}-mlp"
        _tuned = ffpresets.tuned_hparams(_objective, _mode)
        _shown = ", ".join(f"{k} {v}" for k, v in _tuned.items())
        _what = f"the network of ff-{_core}-tuned" if _mode == "untrained" else "tuned, no label"
        _add(
            DetectorSpec(
                name=f"{_mode}-{_core}-tuned",
                family=_FAMILY.get(_mode, _mode),
                factory=Lazy("ff.detector", "OneClassDetector", (_objective, "mlp", _mode)),
                defaults={**ffhp.defaults(_objective, "mlp", _mode), **_tuned},
                objective=_objective,
                arch="mlp",
                twin=f"{_TWIN[_mode]}-{_core}-tuned",
                description=f"{_objective} on an mlp, {_what}: {_shown}; "
                + ffhp.MODE_TEXT[_mode],
                check=ffhp.validate,
                neutral=ffhp.TRICKS_OFF,
                selection=ffpresets.selection_record(_objective, _mode),
            )
        )

# --- Deep SVDD with Ruff et al. (2018)'s published settings (ff.deepsvdd): autoencoder
# pretraining, lr 1e-4 dropped x0.1 at epoch 50 of 150, batch 200, eval-mode centre; compare
# with bpl-<core>-nonorm (the same objective placement under our defaults).
for _objective in ffhp.DSVDD_OBJECTIVES:
    for _arch in ffhp.ARCHS:
        _add(
            DetectorSpec(
                name=f"dsvdd-{_objective}-{_arch}",
                family="dsvdd",
                factory=Lazy("ff.deepsvdd", "DeepSVDD", (_objective, _arch)),
                defaults=ffhp.deep_svdd_defaults(_objective, _arch),
                objective=_objective,
                arch=_arch,
                twin=f"bpl-{_objective}-{_arch}-nonorm",
                inputs="images" if _arch == "cnn" else "any",
                version=2,  # 2: the calibrated rules
                description=ffhp.describe_deep_svdd(_objective, _arch),
                check=ffhp.validate_deep_svdd,
            )
        )

_add(
    DetectorSpec(
        "ref-input-norm",
        "ref",
        InputNorm,
        description="control: squared norm of the preprocessed input (learns nothing)",
    )
)


# --- PyOD baselines: one line each, with PyOD's own defaults ---
def _pyod(name: str, model: str, description: str) -> None:
    """``model``: ``"<module of pyod.models>:<class>"``, imported when the detector is built."""
    _add(
        DetectorSpec(
            name=name,
            family="pyod",
            factory=partial(PyODDetector, model),
            defaults=model_defaults(model),
            description=description,
            check=_unchecked,
        )
    )


_pyod("pyod-ocsvm", "ocsvm:OCSVM", "one-class SVM, RBF kernel")
_pyod("pyod-iforest", "iforest:IForest", "isolation forest")
_pyod("pyod-knn", "knn:KNN", "k-nearest-neighbour distance")
_pyod("pyod-lof", "lof:LOF", "local outlier factor")
_pyod("pyod-ecod", "ecod:ECOD", "empirical-CDF outlier detection")
_pyod("pyod-copod", "copod:COPOD", "copula-based outlier detection")
_pyod("pyod-hbos", "hbos:HBOS", "histogram-based outlier score")
_pyod("pyod-pca", "pca:PCA", "PCA reconstruction distance")
_pyod("pyod-autoencoder", "auto_encoder:AutoEncoder", "fully connected autoencoder")
_pyod("pyod-deepsvdd", "deep_svdd:DeepSVDD", "PyOD's backprop Deep SVDD")


# --- Online (stream) detectors: the prequential protocol (bench.prequential, suite stream) ---
# ff-online / bp-online / bpl-online: ff.online.OnlineOneClassLearner (FF scores and updates
# each layer in one forward pass; the twins take one end-to-end step per batch); river-*:
# river's streaming detectors (baselines.streaming). Every one shares the protocol keys
# batch_size and warmup (--param batch_size=64 changes them all).
_ONLINE_TWIN = {"ff": "bp", "bp": "ff", "bpl": "ff"}
for _objective in ("hb-svdd",):
    for _mode in ffhp.ONLINE_MODES:
        _add(
            DetectorSpec(
                name=f"{_mode}-online-{_objective}-mlp",
                family=f"{_mode}-online",
                factory=Lazy("ff.online", "OnlineOneClassLearner", (_objective, _mode)),
                defaults=ffhp.online_defaults(_objective, _mode),
                objective=_objective,
                arch="mlp",
                twin=f"{_ONLINE_TWIN[_mode]}-online-{_objective}-mlp",
                inputs="stream",
                description=f"online {_objective} on an MLP; {ffhp.MODE_TEXT[_mode]}; "
                "test-then-train, one step per batch",
                check=partial(ffhp.validate_online, _mode),
            )
        )
for _model in RIVER_MODELS:
    _add(
        DetectorSpec(
            name=f"river-{_model}",
            family="river",
            factory=partial(RiverStreamDetector, _model),
            defaults={
                **river_defaults(_model),
                "batch_size": ffhp.STREAM_BATCH,
                "warmup": ffhp.STREAM_WARMUP,
            },
            inputs="stream",
            description=river_description(_model),
        )
    )


def preload(names: Iterable[str]) -> None:
    """Import the code of these detectors now, by building each with its defaults (a process
    forked afterwards inherits it instead of importing it on its first trial). One that
    cannot be built is left to its trials, which record why as FAILED runs."""
    for name in dict.fromkeys(names):
        spec = DETECTORS.get(name)
        with contextlib.suppress(Exception):
            spec.build(0, "cpu", spec.defaults)


def select_detectors(patterns: list[str]) -> list[str]:
    """Detectors named by exact names or glob patterns; stream detectors not by a bare ``*``
    (the batch suites' ``--all``: they would only be skipped there), but by any other pattern
    (the ``stream`` suite lists its own)."""
    names = DETECTORS.select(patterns)
    other = {n for p in patterns if p != "*" for n in DETECTORS.names(p)}
    return [n for n in names if DETECTORS.get(n).inputs != "stream" or n in other]
