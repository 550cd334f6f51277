"""Forward-Forward one-class detectors and their backprop twins.

``OneClassDetector(objective, arch, mode)`` with ``objective`` in :data:`OBJECTIVES`,
``arch`` in :data:`ARCHS` and ``mode`` in :data:`MODES`; ``defaults(objective, arch)`` gives
the default hyperparameters (the same for both modes).
"""

from ff.detector import MODES, OneClassDetector, defaults
from ff.networks import ARCHS
from ff.objectives import OBJECTIVES

__all__ = ["ARCHS", "MODES", "OBJECTIVES", "OneClassDetector", "defaults"]
