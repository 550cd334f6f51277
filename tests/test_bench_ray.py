"""The Ray executor gives the same finished runs, with the same AUROC, as the local one."""

import sys

import pytest
from mlflow.tracking import MlflowClient

from bench import schema
from bench.cli import main

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def _finished(uri: str) -> dict[str, float]:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("ray")
    runs = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'")
    return {r.data.tags[schema.TAG_TRIAL_HASH]: r.data.metrics[schema.METRIC_AUROC]
            for r in runs if schema.TAG_TRIAL_HASH in r.data.tags}


def test_ray_sweep_matches_local_sweep(tmp_path):
    args = ["run", "-d", "pyod-knn", "-d", "ff-hb-svdd-mlp", "-d", "test-crash", "--dataset",
            "wine", "--seeds", "1", "--param", "epochs=3", "--no-progress", "--experiment", "ray"]
    local, remote = f"sqlite:///{tmp_path}/local.db", f"sqlite:///{tmp_path}/ray.db"
    assert main([*args, "--tracking-uri", local]) == 1
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        assert main([*args, "--executor", "ray", "--tracking-uri", remote]) == 1
    finally:
        ray.shutdown()
    expected = _finished(local)
    assert len(expected) == 6
    assert _finished(remote) == expected
    client = MlflowClient(remote)
    exp = client.get_experiment_by_name("ray")
    failed = client.search_runs([exp.experiment_id], "attributes.status = 'FAILED'")
    assert len(failed) == 3
    assert all("deliberate failure" in r.data.tags[schema.TAG_ERROR] for r in failed)


def test_without_ray_the_cli_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    code = main(["run", "-d", "pyod-knn", "--dataset", "wine", "--executor", "ray",
                 "--tracking-uri", "sqlite:///:memory:"])
    assert code == 2
    assert 'pip install -e ".[ray]"' in capsys.readouterr().err
