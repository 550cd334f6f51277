"""The trial metrics equal scikit-learn's, ties included."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from core.metrics import auprc, auroc


@pytest.mark.parametrize("seed", range(20))
def test_metrics_equal_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    labels = (rng.random(n) < rng.uniform(0.05, 0.9)).astype(int)
    labels[:2] = [0, 1]
    scores = rng.normal(size=n) + labels * rng.uniform(0, 2)
    if seed % 2:  # coarse scores: many ties
        scores = np.round(scores, 1)
    assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert auprc(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_auroc_needs_both_classes():
    with pytest.raises(ValueError, match="both"):
        auroc(np.zeros(5), np.arange(5.0))
