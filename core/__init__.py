"""The floor below every package: the generic registry, the run schema with its metric table,
and the detector contract. It imports nothing of the project; ``datasets``, ``ff``,
``baselines``, ``bench`` and ``reports`` import it (``tests/test_architecture.py``)."""
