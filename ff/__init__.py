"""Forward-Forward one-class detectors and their backprop twins.

``OneClassDetector(objective, arch, mode)`` with ``objective`` in :data:`OBJECTIVES`,
``arch`` in :data:`ARCHS` and ``mode`` in :data:`MODES` (described in :data:`MODE_TEXT`);
``defaults(objective, arch, mode)`` gives the default hyperparameters (shared by every mode
but for the headline scoring rule and the training keys the untrained control lacks).
"""

from ff.detector import DECLARED_RULE, MODE_TEXT, MODES, OneClassDetector, defaults
from ff.networks import ARCHS
from ff.objectives import OBJECTIVES

__all__ = [
    "ARCHS",
    "DECLARED_RULE",
    "MODES",
    "MODE_TEXT",
    "OBJECTIVES",
    "OneClassDetector",
    "defaults",
]
