"""Plugins: an installed package's entry points (a dist-info on PYTHONPATH, found by
importlib.metadata in a fresh interpreter) and ``--include`` files, run through sweeps."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bench import plugins
from bench.cli import main
from bench.detectors import DETECTORS
from core import schema

PACKAGE = '''
"""A third-party plugin: a detector and a dataset, neither in the benchmark's repository."""
import numpy as np

from datasets.split import Provenance, Split


class ZScore:
    """Largest absolute z-score of a row (a toy plugin detector)."""

    def __init__(self, seed=0, clip=10.0):
        self.clip = clip

    def fit(self, X):
        self.mu, self.sd = X.mean(0), X.std(0) + 1e-9
        return self

    def score_samples(self, X):
        return np.minimum(np.abs((X - self.mu) / self.sd), self.clip).max(1)


def blobs(data_dir, normal_class, seed):
    """Two Gaussian blobs: class 0 normal, anomalies shifted by 4 (a toy plugin dataset)."""
    rng = np.random.default_rng(seed)
    X_train = rng.normal(size=(60, 3))
    X_test = np.vstack([rng.normal(size=(20, 3)), rng.normal(4, 1, size=(10, 3))])
    return Split(
        "toy-blobs", normal_class, seed, X_train, X_test, np.r_[np.zeros(20), np.ones(10)],
        np.arange(60), np.arange(60, 90), (3,),
        Provenance("toy-one-class", "numpy.random.default_rng(seed)", {}, "none"),
    )


blobs.normal_classes = (0,)
'''

ENTRY_POINTS = """
[ff_oneclass_bench.detectors]
toy-zscore = ffb_toyplugin:ZScore
pyod-knn = ffb_toyplugin:ZScore

[ff_oneclass_bench.datasets]
toy-blobs = ffb_toyplugin:blobs
toy-broken = ffb_toyplugin_missing:data
"""


@pytest.fixture
def installed(tmp_path: Path) -> dict[str, str]:
    """The package ``ffb-toyplugin`` 0.3.1 as an installer lays it out (module + dist-info
    with entry_points.txt) in a directory on PYTHONPATH: what ``pip install`` gives."""
    site = tmp_path / "site"
    (site / "ffb_toyplugin-0.3.1.dist-info").mkdir(parents=True)
    (site / "ffb_toyplugin.py").write_text(PACKAGE)
    info = site / "ffb_toyplugin-0.3.1.dist-info"
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ffb-toyplugin\nVersion: 0.3.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _bench(env: dict[str, str], *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bench", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_entry_point_plugins_are_listed_run_like_builtins_and_tagged(installed, tmp_path):
    listing = _bench(installed, "list", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    lines = listing.stdout.splitlines()
    zscore = next(line for line in lines if line.strip().startswith("toy-zscore"))
    assert "[plugin]" in zscore and "plugin ffb-toyplugin 0.3.1" in zscore
    assert any(line.strip().startswith("toy-blobs") for line in lines)
    knn = next(line for line in lines if line.strip().startswith("pyod-knn"))
    assert "[pyod]" in knn and "plugin" not in knn  # the built-in stays
    warnings = [line for line in listing.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2, listing.stderr  # one line per plugin left out, no traceback
    assert "Traceback" not in listing.stderr
    broken = next(w for w in warnings if "toy-broken" in w)
    assert "ffb-toyplugin" in broken and "ModuleNotFoundError" in broken
    clash = next(w for w in warnings if "'pyod-knn'" in w)
    assert "clashes with a built-in" in clash

    uri = f"sqlite:///{tmp_path}/plugins.db"
    sweep = _bench(
        installed,
        "run", "-d", "toy-zscore", "-d", "pyod-knn", "--dataset", "toy-blobs", "--seeds", "2",
        "--workers", "1", "--experiment", "plugins", "--tracking-uri", uri, "--no-progress",
        cwd=tmp_path,
    )  # fmt: skip
    assert sweep.returncode == 0, sweep.stdout + sweep.stderr
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("plugins")
    runs = client.search_runs([exp.experiment_id], "attributes.status = 'FINISHED'")
    runs = [r for r in runs if schema.TAG_TRIAL_HASH in r.data.tags]
    assert sorted(r.data.params["detector"] for r in runs) == ["pyod-knn"] * 2 + ["toy-zscore"] * 2
    for run in runs:  # every run uses the plugin's dataset; toy-zscore is the plugin's too
        assert run.data.tags[schema.TAG_PLUGIN] == "ffb-toyplugin"
        assert run.data.tags[schema.TAG_PLUGIN_VERSION] == "0.3.1"
        assert run.data.metrics[schema.METRIC_AUROC] > 0.9  # anomalies 4 sd away
    zruns = [r for r in runs if r.data.params["detector"] == "toy-zscore"]
    assert all(r.data.params["hp.clip"] == "10.0" for r in zruns)  # its keyword defaults
    assert all(r.data.tags[schema.TAG_FAMILY] == "plugin" for r in zruns)


INCLUDE = '''
import numpy as np


class Mahalanobis:
    """Mahalanobis distance to the training normals."""

    def __init__(self, shrinkage=0.1):
        self.shrinkage = shrinkage

    def fit(self, X):
        self.mean = X.mean(0)
        cov = np.cov(X, rowvar=False) + self.shrinkage * np.eye(X.shape[1])
        self.precision = np.linalg.inv(cov)
        return self

    def score_samples(self, X):
        d = X - self.mean
        return np.einsum("ij,jk,ik->i", d, self.precision, d)


BENCH_DETECTORS = {NAME: Mahalanobis}
'''


def _include(tmp_path: Path, name: str, body: str = INCLUDE) -> Path:
    path = tmp_path / f"{name.replace('-', '_')}.py"
    path.write_text(body.replace("NAME", repr(name)))
    return path


def test_include_file_runs_through_a_sweep_and_is_tagged(isolated_registries, tmp_path, capsys):
    path = _include(tmp_path, "inc-mahalanobis")
    uri = f"sqlite:///{tmp_path}/inc.db"
    code = main(
        ["run", "--include", str(path), "-d", "inc-mahalanobis", "--dataset", "wine",
         "--seeds", "1", "--param", "shrinkage=0.5", "--workers", "1", "--no-progress",
         "--experiment", "inc", "--tracking-uri", uri]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("inc")
    runs = [
        r
        for r in client.search_runs([exp.experiment_id])
        if schema.TAG_TRIAL_HASH in r.data.tags
    ]
    assert len(runs) == 3 and all(r.info.status == "FINISHED" for r in runs)  # wine's classes
    import hashlib

    version = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    for run in runs:
        assert run.data.tags[schema.TAG_PLUGIN] == f"include:{path.name}"
        assert run.data.tags[schema.TAG_PLUGIN_VERSION] == version
        assert run.data.params["hp.shrinkage"] == "0.5"


def test_include_refuses_a_builtin_name_and_reports_a_broken_file(
    isolated_registries, tmp_path, capsys
):
    clash = _include(tmp_path, "pyod-knn")
    assert main(["run", "--include", str(clash), "-d", "pyod-knn", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "detector 'pyod-knn' clashes with a built-in" in err[0]
    assert DETECTORS.get("pyod-knn").family == "pyod"

    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    assert main(["list", "--include", str(broken)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: --include {broken} failed to import: ModuleNotFoundError: No module named "
        "'not_a_module_anywhere'"
    ]
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["list", "--include", str(empty)]) == 2
    assert "defines neither BENCH_DETECTORS nor BENCH_DATASETS" in capsys.readouterr().err


def test_plugin_detector_spec_reads_defaults_and_passes_seed_only_when_taken():
    class WithSeed:
        """First line of the docstring."""

        inputs = "any"
        version = 3

        def __init__(self, seed=0, device="cpu", k=5, name="x"):
            self.seed = seed

    class Plain:
        def __init__(self, alpha=1.0):
            self.alpha = alpha

    spec = plugins.detector_spec("p-seed", WithSeed)
    assert dict(spec.defaults) == {"k": 5, "name": "x"}
    assert (spec.version, spec.family) == (3, "plugin")
    assert spec.description == "First line of the docstring."
    assert spec.build(7, "cpu", {"k": 2, "name": "x"}).seed == 7
    plain = plugins.detector_spec("p-plain", Plain).build(7, "cpu", {"alpha": 2.0})
    assert plain.alpha == 2.0 and plain.hparams == {"alpha": 2.0}  # what the run records
    with pytest.raises(ValueError, match="not valid"):
        plugins._register("detector", "bad/name", Plain, plugins.PluginInfo("x", "1"), set())


def test_ten_line_docs_example_is_a_working_detector(isolated_registries, tmp_path):
    """The example detector file of docs/plugins.md, as printed there, registers and scores."""
    doc = (Path(__file__).parents[1] / "docs" / "plugins.md").read_text()
    block = doc.split("<!-- plugin-example -->", 1)[1].split("```python", 1)[1]
    code = textwrap.dedent(block.split("```", 1)[0])
    path = tmp_path / "docs_plugin.py"
    path.write_text(code)
    plugins.load([path])
    names = [n for (kind, n), info in plugins.ORIGIN.items() if info.name.endswith(path.name)]
    assert names
    import numpy as np

    spec = DETECTORS.get(names[0])
    rng = np.random.default_rng(0)
    det = spec.build(0, "cpu", dict(spec.defaults)).fit(rng.normal(size=(200, 4)))
    scores = det.score_samples(np.vstack([np.zeros((1, 4)), np.full((1, 4), 5.0)]))
    assert scores[1] > scores[0]
