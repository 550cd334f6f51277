"""The MLflow UI's view of an experiment: opened on its runs table with the benchmark's
columns (experiment tags), and the link to it."""

from __future__ import annotations

import json

from core import schema
from core.metrics import SCORE_METRICS

#: Experiment tag that marks a model-training experiment, so ``mlflow ui`` opens it on its
#: runs table rather than a GenAI overview: every experiment the benchmark creates carries it.
#: (MLflow 3.17's UI decides by its global GenAI / Model training switch instead, remembered
#: by the browser; :func:`ui_url` gives the link that opens the runs table there too.)
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: A saved runs-table view (columns, sort) stored as an experiment tag: MLflow's shared view
#: state, opened with ``#/experiments/<id>/runs?viewStateShareKey=bench``.
VIEW_KEY = "bench"
TAG_VIEW = f"mlflow.sharedViewState.{VIEW_KEY}"
VIEW_COLUMNS = (
    ("attributes", "Dataset"),
    ("params", schema.PARAM_DETECTOR),
    ("params", schema.PARAM_DATASET),
    ("params", schema.PARAM_NORMAL_CLASS),
    ("params", schema.PARAM_SEED),
    *(("metrics", m.name) for m in SCORE_METRICS),
    ("metrics", schema.METRIC_PEAK_TRAIN_MEM),
    ("metrics", schema.METRIC_FIT_SECONDS),
    ("tags", schema.TAG_FAMILY),
)


def ui_url(experiment_id: str, base: str = "http://127.0.0.1:5000") -> str:
    """The MLflow UI's page of an experiment's runs table, as a model-training experiment,
    with the benchmark's saved columns."""
    query = f"workflowType=machine_learning&viewStateShareKey={VIEW_KEY}"
    return f"{base}/#/experiments/{experiment_id}/runs?{query}"


def experiment_tags() -> dict[str, str]:
    """Tags of every experiment the benchmark creates: the runs table as the UI's first view
    (:data:`TAG_EXPERIMENT_KIND`) and a saved view with the benchmark's columns."""
    columns = [f"{kind}.`{key}`" for kind, key in VIEW_COLUMNS]
    view = {
        "orderByKey": "attributes.start_time",
        "orderByAsc": False,
        "selectedColumns": columns,
        "viewMaximized": False,
    }
    return {TAG_EXPERIMENT_KIND: EXPERIMENT_KIND, TAG_VIEW: json.dumps(view)}
