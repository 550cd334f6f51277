"""Forward-Forward one-class detectors and their backprop twins.

``OneClassDetector(objective, arch, mode)`` with ``objective`` in :data:`OBJECTIVES`,
``arch`` in :data:`ARCHS` and ``mode`` in :data:`MODES` (described in :data:`MODE_TEXT`);
``defaults(objective, arch, mode)`` gives the default hyperparameters (shared by every mode
but for the headline scoring rule, the training keys the untrained control lacks and the
memory savers' own keys of ``bp-ckpt`` / ``bp-accum``, MLP only).
Importing ``ff`` does not import torch: ``OneClassDetector`` loads it on first use.
"""

from typing import Any

from ff.hparams import (
    ARCHS,
    DECLARED_RULE,
    MEMORY_MODES,
    MODE_TEXT,
    MODES,
    OBJECTIVES,
    defaults,
)

__all__ = [
    "ARCHS",
    "DECLARED_RULE",
    "MEMORY_MODES",
    "MODES",
    "MODE_TEXT",
    "OBJECTIVES",
    "OneClassDetector",
    "defaults",
]


def __getattr__(name: str) -> Any:
    if name == "OneClassDetector":
        from ff.detector import OneClassDetector

        return OneClassDetector
    raise AttributeError(f"module 'ff' has no attribute {name!r}")
