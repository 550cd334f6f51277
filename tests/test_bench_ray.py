"""The Ray executor gives the same finished runs, with the same AUROC, as the local one."""

import sys

import pytest
from mlflow.tracking import MlflowClient

from bench.cli import main
from core import schema

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.ray


def _finished(uri: str) -> dict[str, float]:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("ray")
    runs = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'")
    return {r.data.tags[schema.TAG_TRIAL_HASH]: r.data.metrics[schema.METRIC_AUROC]
            for r in runs if schema.TAG_TRIAL_HASH in r.data.tags}


@pytest.mark.slow  # tox stays under 10 minutes on 2 cores; run with -m slow
def test_ray_sweep_matches_local_sweep(tmp_path, crashers):
    args = ["run", "--include", crashers, "-d", "pyod-knn", "-d", "ff-hb-svdd-mlp", "-d",
            "test-crash", "--dataset", "wine", "--seeds", "1", "--param", "epochs=3",
            "--no-progress", "--experiment", "ray"]
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


VICTIM = '''
import os
import time
from pathlib import Path


class Victim:
    """Fits in no time, except its first attempt, which waits to be killed."""

    def __init__(self, marker_dir=""):
        self.marker_dir = marker_dir

    def fit(self, X):
        folder = Path(self.marker_dir)
        attempt = len(list(folder.glob("attempt-*")))
        (folder / f"attempt-{attempt}-{os.getpid()}").write_text("")
        if attempt == 0:
            time.sleep(300)  # the test kills this process (a Ray worker) meanwhile
        self.mean = X.mean(0)
        return self

    def score_samples(self, X):
        return ((X - self.mean) ** 2).sum(1)


BENCH_DETECTORS = {"ray-victim": Victim}
'''


def _kill_first_attempt(folder, stop, killed):
    """Watch ``folder`` for the first attempt's marker; SIGKILL the worker that wrote it."""
    import os
    import signal
    import time

    while not stop.is_set():
        for marker in folder.glob("attempt-0-*"):
            pid = int(marker.name.rsplit("-", 1)[1])
            if pid not in killed:
                time.sleep(0.5)  # well inside fit
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
        time.sleep(0.1)


def _trial_runs(uri, experiment):
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id])
    return [r for r in runs if schema.TAG_TRIAL_HASH in r.data.tags]


def test_a_ray_worker_killed_mid_trial_is_retried_or_failed_never_lost(tmp_path, monkeypatch):
    import threading

    plugin = tmp_path / "victim.py"
    plugin.write_text(VICTIM)
    uri = f"sqlite:///{tmp_path}/kill.db"

    def sweep(experiment, folder, killed):
        stop = threading.Event()
        watcher = threading.Thread(target=_kill_first_attempt, args=(folder, stop, killed))
        watcher.start()
        try:
            return main(["run", "--include", str(plugin), "-d", "ray-victim", "-d", "pyod-knn",
                         "--dataset", "breast-cancer", "--seeds", "1", "--param",
                         f"marker_dir={folder}", "--executor", "ray", "--experiment",
                         experiment, "--tracking-uri", uri, "--no-progress"])  # fmt: skip
        finally:
            stop.set()
            watcher.join()

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        # max_retries=1 (the default): the killed trial runs again and finishes, one run
        retried, killed = tmp_path / "retried", []
        retried.mkdir()
        assert sweep("retried", retried, killed) == 0
        assert len(killed) == 1
        assert len(list(retried.glob("attempt-*"))) == 2  # killed, then Ray's retry
        runs = _trial_runs(uri, "retried")
        assert sorted((r.data.params["detector"], r.info.status) for r in runs) == [
            ("pyod-knn", "FINISHED"), ("ray-victim", "FINISHED")]  # fmt: skip

        # without retries: recorded FAILED once; the rerun completes the sweep
        monkeypatch.setenv("BENCH_RAY_MAX_RETRIES", "0")
        failed, killed = tmp_path / "failed", []
        failed.mkdir()
        assert sweep("failed", failed, killed) == 1
        assert len(killed) == 1 and len(list(failed.glob("attempt-*"))) == 1
        runs = _trial_runs(uri, "failed")
        status = sorted((r.data.params["detector"], r.info.status) for r in runs)
        assert status == [("pyod-knn", "FINISHED"), ("ray-victim", "FAILED")]
        victim = next(r for r in runs if r.data.params["detector"] == "ray-victim")
        assert "Ray task failed" in victim.data.tags[schema.TAG_ERROR]
        assert "WorkerCrashedError" in victim.data.tags[schema.TAG_ERROR]
        assert sweep("failed", failed, killed) == 0  # the rerun runs only the failed trial
        runs = _trial_runs(uri, "failed")
        finished = [r for r in runs if r.info.status == "FINISHED"]
        keys = [r.data.tags[schema.TAG_TRIAL_HASH] for r in finished]
        assert len(keys) == len(set(keys)) == 2  # every trial once, none twice
        assert len(runs) == 3  # the FAILED record stays beside its rerun
    finally:
        ray.shutdown()
