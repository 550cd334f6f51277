"""The tuning sets: seeded, one-class, and disjoint from every suite a report states findings
on (the reports leave them out wherever they ran)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bench.suites import SUITES
from datasets import DATASETS, TUNING_SETS, load_split
from datasets.preprocessing import standardise
from datasets.tuning import PREFIX, tuning_arrays
from reports.analysis.frames import STUDY_SUITES, TUNING_PREFIX, TUNING_SUITE, main_trials

CASES = [(n, c) for n in TUNING_SETS for c in DATASETS.get(n).normal_classes[:2]]


def test_the_tuning_sets_are_listed_and_named_for_the_reports():
    names = ("iris-loo", "blobs-loo", "subspace-loo", "scale-ovr", "moons-loo")
    assert tuple(f"tune-{n}" for n in names) == TUNING_SETS
    assert PREFIX == TUNING_PREFIX and TUNING_SUITE in STUDY_SUITES
    assert SUITES.get(TUNING_SUITE).datasets() == list(TUNING_SETS)
    assert all("tuning set" in DATASETS.get(n).description for n in TUNING_SETS)


def test_no_other_suite_holds_a_tuning_set():
    for name, suite in SUITES.items():
        if name != TUNING_SUITE:
            assert not set(suite.datasets()) & set(TUNING_SETS), name
            assert not any(d.startswith(PREFIX) for d in suite.datasets()), name


@pytest.mark.parametrize(("name", "normal_class"), CASES)
def test_one_class_splits_drawn_from_the_seed(name, normal_class):
    split = load_split(name, normal_class, seed=2)
    X, y = tuning_arrays(name.removeprefix(PREFIX), 2)
    anomaly = (y == int(str(normal_class).removeprefix("all-but-"))) if "loo" in name else y == 1
    assert split.dataset == name and not anomaly[split.train_idx].any()
    assert np.intersect1d(split.train_idx, split.test_idx).size == 0
    np.testing.assert_array_equal(split.y_test, anomaly[split.test_idx])
    want_train, want_test = standardise(X[split.train_idx], X[split.test_idx])
    np.testing.assert_allclose(split.X_train, want_train, atol=1e-5)
    np.testing.assert_allclose(split.X_test, want_test, atol=1e-5)
    again = load_split(name, normal_class, seed=2)
    np.testing.assert_array_equal(again.X_train, split.X_train)
    other = load_split(name, normal_class, seed=3)
    assert not np.array_equal(other.X_test, split.X_test)


def test_a_run_on_a_tuning_set_is_in_no_accuracy_table():
    rows = [
        {"params.detector": "pyod-knn", "params.dataset": d, "tags.bench.suite": s}
        for d, s in (("tune-blobs-loo", "tuning"), ("tune-iris-loo", "embedded"), ("digits", ""))
    ]
    runs = pd.DataFrame(rows).assign(status="FINISHED")
    assert main_trials(runs)["dataset"].tolist() == ["digits"]
