"""The notebook API (docs/plugins.md's example, run as printed), MLflow dataset inputs of every
trial, and the experiment tags that make ``mlflow ui`` open on the runs table."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from bench import api
from bench.cli import main
from bench.errors import UsageError
from bench.tracking.view import EXPERIMENT_KIND, TAG_EXPERIMENT_KIND, TAG_VIEW
from core import schema
from datasets import load_split
from reports import read_results

PLUGINS_DOC = Path(__file__).parents[1] / "docs" / "plugins.md"


def _docs_example() -> str:
    """The python block after ``<!-- notebook-example -->`` in docs/plugins.md."""
    text = PLUGINS_DOC.read_text().split("<!-- notebook-example -->", 1)[1]
    return textwrap.dedent(text.split("```python", 1)[1].split("```", 1)[0])


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """The docs example run in a fresh namespace against a temporary store."""
    tmp = tmp_path_factory.mktemp("notebook")
    uri = f"sqlite:///{tmp}/notebook.db"
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", uri)
    mp.chdir(tmp)
    namespace: dict = {}
    try:
        exec(compile(_docs_example(), "docs/plugins.md", "exec"), namespace)  # noqa: S102
    finally:
        mp.undo()
    return namespace, uri, tmp


def test_docs_notebook_example_runs_and_gives_results_csv_columns(notebook, capsys):
    namespace, uri, tmp = notebook
    results = namespace["results"]
    assert isinstance(results, pd.DataFrame)
    trials = results[results["status"] == "FINISHED"]
    assert len(trials) == 2 * 2  # two detectors x two seeds (breast-cancer: one class)
    table = namespace["table"]  # the example's summary: mean AUROC per detector
    for detector, value in table.items():
        mine = trials[trials["params.detector"] == detector]["metrics.auroc"].mean()
        assert value == pytest.approx(mine)
    # the same columns as the report's results.csv, in the same order
    out = tmp / "report"
    experiment = results["experiment"].iloc[0]
    assert main(["report", "--experiment", experiment, "--tracking-uri", uri, "--out",
                 str(out), "--no-log"]) == 0  # fmt: skip
    csv = read_results(out / "results.csv")
    loaded = api.load_results(experiment, uri)
    assert list(loaded.columns) == list(csv.columns)
    assert sorted(loaded["run_id"]) == sorted(csv["run_id"])


def test_api_errors_raise_instead_of_exiting(tmp_path):
    with pytest.raises(UsageError, match="unknown detector 'pyod-knm'"):
        api.run("pyod-knm", "wine", tracking_uri=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(UsageError, match="no MLflow experiment named 'nope'"):
        api.load_results("nope", f"sqlite:///{tmp_path}/x.db")


def test_every_trial_logs_its_train_and_test_split_as_mlflow_dataset_inputs(notebook):
    _, uri, tmp = notebook
    client = MlflowClient(uri)
    exp = client.search_experiments(filter_string="name != 'Default'")[0]
    runs = [
        r for r in client.search_runs([exp.experiment_id]) if schema.TAG_TRIAL_HASH in r.data.tags
    ]
    digests: dict[tuple, set] = {}
    for run in runs:
        params = run.data.params
        inputs = {
            next(t.value for t in i.tags if t.key == "mlflow.data.context"): i.dataset
            for i in run.inputs.dataset_inputs
        }
        assert set(inputs) == {"train", "test"}
        split = load_split(params["dataset"], params["normal_class"], int(params["seed"]))
        for context, X in (("train", split.X_train), ("test", split.X_test)):
            ds = inputs[context]
            assert ds.name == f"breast-cancer/{params['normal_class']}"
            assert ds.source_type == "ff-oneclass-bench"
            source = json.loads(ds.source)
            assert source["protocol"] == split.provenance.protocol
            assert source["source"] == split.provenance.source
            assert (source["dataset"], source["seed"]) == ("breast-cancer", int(params["seed"]))
            profile = json.loads(ds.profile)
            assert profile["shape"] == list(X.shape)
            share = 0.0 if context == "train" else float(np.mean(split.y_test))
            assert profile["anomaly_share"] == pytest.approx(share)
            digests.setdefault((params["normal_class"], params["seed"], context), set()).add(
                ds.digest
            )
        metrics = run.data.metrics
        test_profile = json.loads(inputs["test"].profile)
        assert test_profile["anomaly_share"] == pytest.approx(metrics["anomaly_ratio"])
        # the data are never copied into the store: only the scores table is an artifact
        assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["scores.csv"]
    # both detectors of one split show one digest; another split, another digest
    assert all(len(d) == 1 for d in digests.values())
    assert len({next(iter(d)) for d in digests.values()}) == len(digests)


def test_experiments_open_on_the_runs_table_with_the_benchmark_columns(notebook, tmp_path):
    _, uri, _ = notebook
    client = MlflowClient(uri)
    exp = client.search_experiments(filter_string="name != 'Default'")[0]
    assert exp.tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND == "custom_model_development"
    view = json.loads(exp.tags[TAG_VIEW])
    assert "metrics.`auroc`" in view["selectedColumns"]
    # an experiment created before the tag existed gets it on the next sweep
    old_uri = f"sqlite:///{tmp_path}/old.db"
    old = MlflowClient(old_uri)
    exp_id = old.create_experiment("old")
    assert TAG_EXPERIMENT_KIND not in old.get_experiment(exp_id).tags
    from bench.tracking.store import Store

    Store("old", old_uri)
    assert old.get_experiment(exp_id).tags[TAG_EXPERIMENT_KIND] == EXPERIMENT_KIND
