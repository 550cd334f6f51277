"""What a registered detector is: :class:`DetectorSpec` (how to build it, what it is, what it
accepts) and :class:`Lazy`, a factory that imports the detector's code only when it is built."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.contract import Detector


@dataclass(frozen=True)
class Lazy:
    """A factory that imports ``module.name`` when a detector is built, not when the registry
    loads: listing detectors and refusing a bad name or value need neither torch nor PyOD."""

    module: str
    name: str
    args: tuple[Any, ...] = ()

    def __call__(self, **kwargs: Any) -> Detector:
        factory = getattr(importlib.import_module(self.module), self.name)
        return factory(*self.args, **kwargs)


_ABSENT = object()


def _is(value: Any, neutral: Any) -> bool:
    """``value`` equals ``neutral`` and has its type (``True`` is not ``1``)."""
    return type(value) is type(neutral) and value == neutral


@dataclass(frozen=True)
class DetectorSpec:
    """A registered detector: how to build it and what it is.

    ``inputs`` is ``"any"`` (tabular rows or flattened images), ``"images"`` (needs
    ``(C, H, W)`` rows) or ``"stream"`` (an online detector: ``start`` / ``score_learn`` on
    stream datasets, run by ``bench.prequential``). ``version`` is part of every trial hash:
    bump it when a change to the detector's code should invalidate earlier results.
    ``check`` refuses (``ValueError``) resolved hyperparameters the detector would refuse,
    without building it; without one, :meth:`validate` builds the detector. ``neutral``:
    options added after results were recorded, each with the value at which the detector
    computes what it did before the option existed; at that value an option is left out of
    the resolved hyperparameters, so of trial hashes (earlier runs stay valid).
    """

    name: str
    family: str
    factory: Callable[..., Detector]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    objective: str = ""
    arch: str = ""
    twin: str = ""
    inputs: str = "any"
    version: int = 1
    description: str = ""
    check: Callable[[dict[str, Any]], None] | None = None
    neutral: Mapping[str, Any] = field(default_factory=dict)
    selection: str = ""  # a tuned preset: the selection behind it (JSON, tag bench.selection)

    def accepts(self, kind: str | bool) -> str | None:
        """Why this detector cannot run on data of ``kind`` (a dataset's kind: ``"tabular"``,
        ``"images"``, ``"stream"``; True / False mean images / tabular), or None when it can."""
        kind = {True: "images", False: "tabular"}.get(kind, kind)  # type: ignore[call-overload]
        if (self.inputs == "stream") != (kind == "stream"):
            return (
                "a stream detector needs a stream dataset"
                if self.inputs == "stream"
                else "a batch detector cannot run on a stream dataset"
            )
        if self.inputs == "images" and kind != "images":
            return "needs image data (C, H, W) and the dataset is tabular"
        return None

    def resolve(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated by the overrides this detector knows, less the ``neutral`` options
        at their neutral value; unknown keys are an error."""
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise ValueError(
                f"{self.name} has no hyperparameter(s) {unknown}; known: {sorted(self.defaults)}"
            )
        hp = {**self.defaults, **overrides}
        return {k: v for k, v in hp.items() if not _is(v, self.neutral.get(k, _ABSENT))}

    def build(self, seed: int, device: str, hparams: Mapping[str, Any]) -> Detector:
        return self.factory(seed=seed, device=device, **hparams)

    def validate(self, hparams: Mapping[str, Any]) -> None:
        """Refuse (``ValueError`` / ``TypeError``) what the detector would refuse when built."""
        if self.check is not None:
            self.check(dict(hparams))
        else:
            self.build(0, "cpu", hparams)
