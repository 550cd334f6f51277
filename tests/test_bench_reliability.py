"""Reliability of the harness (issue 15): no orphaned workers, no duplicated trials with
concurrent sweeps, one-line errors instead of tracebacks, read-only data that still runs.

Real processes, a real MLflow store per test; nothing mocked. Tests that need a read-only
directory run the CLI without CAP_DAC_OVERRIDE (via ``setpriv``) when the suite runs as
root, because root writes through file modes.
"""

import dataclasses
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from bench.cli import main
from bench.tracking import claims
from bench.tracking.health import open_client
from bench.tracking.location import sqlite_path
from bench.tracking.store import Store
from bench.trial import Trial
from core import schema
from datasets import download
from datasets.banknote import BANKNOTE_FILE, BANKNOTE_SHA256, load_banknote
from datasets.errors import DatasetError

ROOT = Path(__file__).resolve().parents[1]
SHARED_BANKNOTE = ROOT.parent / "shared" / "datasets" / "uci" / BANKNOTE_FILE
SETPRIV = shutil.which("setpriv")
AS_ROOT = os.geteuid() == 0
#: Root without the capabilities that bypass file modes: read-only directories are read-only.
UNPRIVILEGED = [str(SETPRIV), "--bounding-set=-dac_override,-dac_read_search"]
needs_unprivileged = pytest.mark.skipif(
    AS_ROOT and not SETPRIV, reason="read-only directories need root without CAP_DAC_OVERRIDE"
)
LONG = ["-d", "ff-hb-svdd-mlp", "--dataset", "wine", "--seeds", "1", "--workers", "2",
        "--param", "epochs=1000000", "--no-progress", "--experiment", "long"]
FAST = ["-d", "pyod-hbos", "-d", "pyod-pca", "--seeds", "1", "--workers", "1", "--no-progress"]


@pytest.fixture
def open_tmp():
    """A temporary directory of its own, made writable again before it is removed."""
    path = Path(tempfile.mkdtemp(prefix="bench-reliability-"))
    path.chmod(0o777)
    yield path
    for sub in [path, *path.rglob("*")]:
        if sub.is_dir() and not sub.is_symlink():
            sub.chmod(0o777)
    shutil.rmtree(path, ignore_errors=True)


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "BENCH_"))}
    cache = tmp / "home"
    cache.mkdir(exist_ok=True)
    cache.chmod(0o777)
    return {**env, "HOME": str(cache), "XDG_CACHE_HOME": str(cache), "PYTHONPATH": str(ROOT)}


def _bench(args: list[str], tmp: Path, *, cwd: Path | None = None, unprivileged: bool = False,
           timeout: float = 300) -> tuple[int, str, str, float]:
    """Run ``python -m bench ARGS``; returns (exit code, stdout, stderr, seconds)."""
    cmd = [sys.executable, "-m", "bench", *args]
    if unprivileged and AS_ROOT:
        cmd = [*UNPRIVILEGED, *cmd]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd or tmp, env=_env(tmp), capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and "Traceback" not in stderr, stderr
    return lines[0]


def _trial_runs(uri: str, experiment: str) -> list:
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return [r for r in client.search_runs([exp.experiment_id], max_results=5000)
            if schema.TAG_TRIAL_HASH in r.data.tags]


# --- 1. workers never outlive their driver ----------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in "ZX"


def _start_long_sweep(tmp_path: Path) -> tuple[subprocess.Popen, list[int], str]:
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    proc = subprocess.Popen([sys.executable, "-m", "bench", "run", *LONG, "--tracking-uri", uri],
                            cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    workers: list[int] = []
    while time.time() < deadline and proc.poll() is None and len(workers) < 2:
        time.sleep(0.3)
        workers = [p for p in _children(proc.pid)
                   if b"bench" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert len(workers) == 2, proc.communicate()
    time.sleep(1.0)  # the workers are inside their first trial
    return proc, workers, uri


def _reap(workers: list[int]) -> list[int]:
    """Workers still alive 10 s later (killed afterwards, so no test leaves them behind)."""
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(p) for p in workers):
        time.sleep(0.2)
    left = [p for p in workers if _alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_driver_is_killed(tmp_path):
    proc, workers, _ = _start_long_sweep(tmp_path)
    proc.kill()  # kill -9 of the driver alone, not of its process group
    proc.communicate()
    assert _reap(workers) == []


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_sigterm_is_an_interrupt_exit_143_workers_stopped(tmp_path):
    proc, workers, uri = _start_long_sweep(tmp_path)
    start = time.perf_counter()
    proc.terminate()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert time.perf_counter() - start < 20
    assert "terminated (SIGTERM)" in err and "run the same command to resume" in err
    assert "Traceback" not in err
    assert _reap(workers) == []
    runs = _trial_runs(uri, "long")  # the trials it had claimed are closed, not left RUNNING
    assert runs and {r.info.status for r in runs} == {"KILLED"}


# --- 2, 3. concurrent sweeps on one (new) store share the work ---------------------------------


def test_concurrent_sweeps_on_a_new_store_run_each_trial_once(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    args = [sys.executable, "-m", "bench", "run", *FAST, "--dataset", "digits", "--seeds", "2",
            "--tracking-uri", uri, "--experiment", "both"]
    procs = [subprocess.Popen(args, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=400) for p in procs]
    for proc, (out, err) in zip(procs, outs, strict=True):
        assert proc.returncode == 0, out + err
    runs = _trial_runs(uri, "both")
    finished = [r.data.tags[schema.TAG_TRIAL_HASH] for r in runs if r.info.status == "FINISHED"]
    assert len(finished) == len(set(finished)) == 2 * 10 * 2
    assert not [r for r in runs if r.info.status != "FINISHED"]


def test_claims_of_a_dead_sweep_expire_and_live_ones_hold(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    store = Store("claims", uri)
    trial = Trial("pyod-hbos", "wine", 0, 0, {})
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    host = claims.claim_owner().rsplit(":", 2)[0]
    stale = store.client.create_run(store.experiment_id, tags={
        schema.TAG_TRIAL_HASH: trial.key, claims.TAG_CLAIM_OWNER: f"{host}:{dead}:1"})
    run_id, _ = store.claim(trial)  # the dead process's claim is taken over
    assert run_id and store.client.get_run(stale.info.run_id).info.status == "KILLED"
    other = Store("claims", uri)  # another sweep: this process still holds it
    assert other.claim(trial) == (None, "claimed by another sweep")
    now = time.time()
    remote = {claims.TAG_CLAIM_OWNER: "elsewhere:1:1", claims.TAG_CLAIM_HEARTBEAT: str(now)}
    assert claims.claim_alive(remote, now + claims.CLAIM_STALE_S - 1)
    assert not claims.claim_alive(remote, now + claims.CLAIM_STALE_S + 1)


def test_the_sqlite_claim_lookup_reads_what_mlflows_search_finds(tmp_path):
    """A SQLite store's claims read a trial's runs with SQL: the same runs, statuses, start
    times and claim tags as MLflow's search, none of another experiment or a deleted run."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    store, other = Store("claims", uri), Store("elsewhere", uri)
    trial = Trial("pyod-hbos", "wine", 0, 0, {})
    owner = {claims.TAG_CLAIM_OWNER: "host:1:2", claims.TAG_CLAIM_HEARTBEAT: "123"}
    for tags, status in ((owner, "RUNNING"), ({}, "FINISHED"), ({}, "KILLED")):
        run = store.client.create_run(store.experiment_id, tags={
            schema.TAG_TRIAL_HASH: trial.key, **tags})
        if status != "RUNNING":
            store.client.set_terminated(run.info.run_id, status)
    deleted = store.client.create_run(store.experiment_id, tags={schema.TAG_TRIAL_HASH: trial.key})
    store.client.delete_run(deleted.info.run_id)
    other.client.create_run(other.experiment_id, tags={schema.TAG_TRIAL_HASH: trial.key})
    store.client.create_run(store.experiment_id, tags={schema.TAG_TRIAL_HASH: "another"})
    sql = sorted(store._trial_runs(trial.key), key=lambda r: r.run_id)
    store._db = None  # the path every other store takes: MLflow's search
    search = sorted(store._trial_runs(trial.key), key=lambda r: r.run_id)
    assert len(sql) == 3 and {r.status for r in sql} == {"RUNNING", "FINISHED", "KILLED"}
    claim_tags = (claims.TAG_CLAIM_OWNER, claims.TAG_CLAIM_HEARTBEAT)
    for a, b in zip(sql, search, strict=True):
        assert (a.run_id, a.status, a.start_time) == (b.run_id, b.status, b.start_time)
        assert a.tags == {k: v for k, v in b.tags.items() if k in claim_tags}


def test_a_claim_carries_the_runs_known_tags_and_the_record_adds_the_results(tmp_path):
    """The claim's run is created with every tag known before the trial (environment, the
    caller's, hash, suite); recording adds the result's tags, params and metrics to it."""
    from bench.worker import execute

    store = Store("claims", f"sqlite:///{tmp_path}/mlflow.db")
    trial = Trial("ref-input-norm", "wine", 0, 0, {}, suite="embedded")
    known = {schema.TAG_FAMILY: "ref", "bench.example": "1"}
    run_id, _ = store.claim(trial, tags=known)
    claimed = store.client.get_run(run_id).data.tags
    assert claimed["bench.example"] == "1" and claimed[schema.TAG_TRIAL_HASH] == trial.key
    assert claimed[schema.TAG_SUITE] == "embedded" and schema.TAG_HOST in claimed
    result = execute(trial, "cpu", None)
    assert store.record(result, known) == run_id
    run = store.client.get_run(run_id)
    assert run.info.status == "FINISHED" and run.data.metrics[schema.METRIC_AUROC] > 0
    assert run.data.tags[schema.TAG_FAMILY] == "ref"
    assert run.data.params[schema.PARAM_DETECTOR] == trial.detector
    for key, value in result.tags.items():
        assert run.data.tags[key] == value
    unclaimed = dataclasses.replace(result, trial=dataclasses.replace(trial, seed=1))
    other = store.client.get_run(store.record(unclaimed, known)).data.tags  # no claim: all at once
    assert other["bench.example"] == "1" and other[schema.TAG_DATA_SHA256] == result.tags[
        schema.TAG_DATA_SHA256]


def test_half_migrated_store_is_one_line_with_the_fix(tmp_path):
    path = tmp_path / "mlflow.db"
    Store("x", f"sqlite:///{path}")
    con = sqlite3.connect(path)
    con.execute("UPDATE alembic_version SET version_num = '451aebb31d03'")
    con.commit()
    con.close()
    code, _, err, seconds = _bench(["run", *FAST, "--dataset", "wine", "--tracking-uri",
                                    f"sqlite:///{path}"], tmp_path)
    line = _one_line_error(err)
    assert code == 1 and "half-created or half-migrated" in line and f"rm {path}" in line
    assert seconds < 30


# --- 4-8. stores and paths: one line, within seconds ------------------------------------------


def test_unreachable_tracking_server(tmp_path):
    code, _, err, seconds = _bench(["run", *FAST, "--dataset", "wine", "--tracking-uri",
                                    "http://127.0.0.1:9"], tmp_path)
    line = _one_line_error(err)
    assert code == 1 and "http://127.0.0.1:9 is unreachable" in line
    assert seconds < 15


def _read_only_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for sub in [path, *path.rglob("*")]:
        sub.chmod(0o555 if sub.is_dir() else 0o444)
    return path


@needs_unprivileged
def test_read_only_working_directory_names_the_store(open_tmp):
    cwd = _read_only_dir(open_tmp / "ro")
    code, _, err, seconds = _bench(["run", *FAST, "--dataset", "wine"], open_tmp, cwd=cwd,
                                   unprivileged=True)
    line = _one_line_error(err)
    assert code == 1 and str(cwd / "mlflow.db") in line and "--tracking-uri" in line
    assert seconds < 15
    assert list(cwd.iterdir()) == []


@pytest.fixture(scope="module")
def far_store(tmp_path_factory) -> tuple[str, Path, Path]:
    """One small sweep into ``elsewhere/x.db``, run from another directory ``cwd``."""
    tmp = tmp_path_factory.mktemp("far")
    cwd, elsewhere = tmp / "cwd", tmp / "elsewhere"
    cwd.mkdir()
    elsewhere.mkdir()
    uri = f"sqlite:///{elsewhere}/x.db"
    code, out, err, _ = _bench(["run", *FAST, "--dataset", "wine", "--tracking-uri", uri,
                                "--experiment", "exists"], tmp, cwd=cwd)
    assert code == 0, out + err
    assert f"artifacts: {elsewhere / 'x-artifacts' / 'exists'}" in out
    return uri, cwd, elsewhere


@pytest.mark.slow  # tox stays under 10 minutes on 2 cores; run with -m slow
def test_sqlite_store_elsewhere_keeps_its_artifacts_beside_it(far_store):
    uri, cwd, elsewhere = far_store
    assert list(cwd.iterdir()) == []  # no ./mlruns shared with other stores
    runs = _trial_runs(uri, "exists")
    assert len(runs) == 2 * 3
    for run in runs:
        root = Path(run.info.artifact_uri.removeprefix("file://"))
        assert root.is_relative_to(elsewhere / "x-artifacts" / "exists")
        assert (root / schema.ARTIFACT_SCORES).is_file()


@pytest.fixture(scope="module")
def small_store(far_store) -> str:
    return far_store[0]


def test_report_unknown_experiment_lists_the_existing(small_store, tmp_path, capsys):
    code = main(["report", "--experiment", "nope", "--tracking-uri", small_store,
                 "--out", str(tmp_path / "r")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "'nope'" in line and "existing: exists" in line
    assert not (tmp_path / "r").exists()


def test_report_on_an_empty_store_creates_nothing(tmp_path, capsys):
    path = tmp_path / "mlflow.db"
    code = main(["report", "--tracking-uri", f"sqlite:///{path}", "--out", str(tmp_path / "r")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 1 and "no tracking store" in line and str(path) in line
    assert sorted(tmp_path.iterdir()) == []
    open_client(f"sqlite:///{path}")  # a store with MLflow's Default only
    capsys.readouterr()
    code = main(["report", "--tracking-uri", f"sqlite:///{path}", "--out", str(tmp_path / "r")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and "holds no experiments" in line


def test_report_unwritable_out(small_store, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    code = main(["report", "--experiment", "exists", "--tracking-uri", small_store,
                 "--out", str(blocker / "r")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and str(blocker) in line


@needs_unprivileged
def test_report_read_only_out(small_store, open_tmp):
    out = _read_only_dir(open_tmp / "ro") / "r"
    store = open_tmp / "store"  # a copy of the store
    store.mkdir()
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{sqlite_path(small_store)}{suffix}")
        if source.exists():
            shutil.copy(source, store / f"mlflow.db{suffix}")
            (store / f"mlflow.db{suffix}").chmod(0o666)
    store.chmod(0o777)
    code, _, err, _ = _bench(["report", "--experiment", "exists", "--tracking-uri",
                              f"sqlite:///{store}/mlflow.db", "--no-log", "--out", str(out)],
                             open_tmp, unprivileged=True)
    line = _one_line_error(err)
    assert code == 2 and "not writable" in line and not out.exists(), line


def test_data_dir_that_is_a_file(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("x")
    code, _, err, _ = _bench(["run", *FAST, "--dataset", "banknote", "--data-dir",
                              str(blocker)], tmp_path)
    line = _one_line_error(err)
    assert code == 2 and f"--data-dir {blocker} is a file" in line
    assert not (tmp_path / "mlflow.db").exists()


# --- 9-11. data -------------------------------------------------------------------------------


@pytest.mark.slow  # tox stays under 10 minutes on 2 cores; run with -m slow
@needs_unprivileged
@pytest.mark.skipif(not SHARED_BANKNOTE.is_file(), reason="no offline UCI mirror")
def test_read_only_data_dir_reports_the_bad_file_and_runs_the_rest(open_tmp):
    tmp_path = open_tmp
    data = tmp_path / "data"
    (data / "uci").mkdir(parents=True)
    lines = SHARED_BANKNOTE.read_text().splitlines()
    lines[4] = lines[4].replace(lines[4].split(",")[0], "1.2345", 1)  # a changed value
    (data / "uci" / BANKNOTE_FILE).write_text("\n".join(lines) + "\n")
    _read_only_dir(data)
    before = sorted(p.name for p in data.rglob("*"))
    uri = f"sqlite:///{tmp_path}/store/mlflow.db"
    (tmp_path / "store").mkdir()
    (tmp_path / "store").chmod(0o777)
    code, _, err, _ = _bench(["run", "-d", "pyod-hbos", "--dataset", "banknote", "--dataset",
                              "wine", "--seeds", "1", "--workers", "1", "--no-progress",
                              "--data-dir", str(data),
                              "--tracking-uri", uri, "--experiment", "ro"], tmp_path,
                             unprivileged=True)
    assert code == 1, err
    assert "dataset banknote is unavailable" in err and "read-only" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in data.rglob("*")) == before  # nothing moved or written
    runs = _trial_runs(uri, "ro")
    assert {r.data.params["dataset"] for r in runs} == {"wine"}
    assert [r.info.status for r in runs] == ["FINISHED"] * 3, [
        r.data.tags.get(schema.TAG_ERROR) for r in runs]


@needs_unprivileged
def test_read_only_data_dir_without_the_file(open_tmp):
    tmp_path = open_tmp
    data = _read_only_dir(tmp_path / "data")
    script = ("from datasets.banknote import load_banknote\n"
              f"load_banknote({str(data)!r}, 0, 0, url='http://127.0.0.1:9/x.txt')")
    cmd = UNPRIVILEGED if AS_ROOT else []
    done = subprocess.run([*cmd, sys.executable, "-c", script], capture_output=True, text=True,
                          env=_env(tmp_path), cwd=tmp_path, timeout=60)
    assert "DatasetError" in done.stderr and "read-only" in done.stderr, done.stderr
    assert list(data.iterdir()) == []


def test_second_rejected_file_keeps_the_first(tmp_path):
    dest = tmp_path / "uci" / "f.txt"
    dest.parent.mkdir()
    url = "http://127.0.0.1:9/f.txt"
    for body in ("first bad copy", "second bad copy"):
        dest.write_text(body)
        with pytest.raises(DatasetError, match="moved to"):
            download.ensure_file("f", url, dest, sha256="0" * 64)
    assert (dest.parent / "f.txt.corrupt").read_text() == "first bad copy"
    assert (dest.parent / "f.txt.corrupt.1").read_text() == "second bad copy"


@pytest.mark.skipif(not SHARED_BANKNOTE.is_file(), reason="no offline UCI mirror")
def test_banknote_nan_names_row_and_column_and_the_file_is_pinned(tmp_path):
    assert download.sha256_file(SHARED_BANKNOTE) == BANKNOTE_SHA256
    dest = tmp_path / "uci" / BANKNOTE_FILE
    dest.parent.mkdir()
    lines = SHARED_BANKNOTE.read_text().splitlines()
    fields = lines[4].split(",")
    fields[1] = "nan"
    lines[4] = ",".join(fields)
    dest.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=r"row 5, column 2 is nan"):
        load_banknote(tmp_path, 0, 0, url="http://127.0.0.1:9/b.txt")
    fields[1] = "0.5"  # a plausible value: only the pinned sha256 can tell
    lines[4] = ",".join(fields)
    dest.write_text("\n".join(lines) + "\n")
    with pytest.raises(DatasetError, match=f"expected {BANKNOTE_SHA256}"):
        load_banknote(tmp_path, 0, 0, url="http://127.0.0.1:9/b.txt")


def test_trial_hash_covers_the_data_files():
    base = Trial("pyod-hbos", "banknote", 0, 0, {})
    a = Trial("pyod-hbos", "banknote", 0, 0, {}, data_sha256=json.dumps({"f": "a"}))
    b = Trial("pyod-hbos", "banknote", 0, 0, {}, data_sha256=json.dumps({"f": "b"}))
    assert len({base.key, a.key, b.key}) == 3
    assert Trial("pyod-hbos", "wine", 0, 0, {}).key == Trial("pyod-hbos", "wine", 0, 0, {}).key


@pytest.mark.skipif(not SHARED_BANKNOTE.is_file(), reason="no offline UCI mirror")
def test_sweep_records_the_data_hash_in_the_trial_hash(tmp_path):
    from bench.runner import unavailable_datasets

    digests: dict[str, str] = {}
    assert unavailable_datasets(["banknote", "wine"], SHARED_BANKNOTE.parents[1], digests) == {}
    assert json.loads(digests["banknote"]) == {BANKNOTE_FILE: BANKNOTE_SHA256}
    assert "wine" not in digests


# --- 12. hyperparameters, checked before anything runs -----------------------------------------

BAD_PARAMS = ["epochs=-1", 'epochs="abc"', "epochs=2.5", "widths=[]", "epochs=true", 'lr="abc"',
              "lr=-1", "widths=[64,"]


@pytest.mark.parametrize("param", BAD_PARAMS)
def test_bad_hyperparameter_exits_2_before_the_sweep(param, tmp_path, capsys):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    code = main(["run", "-d", "ff-hb-svdd-mlp", "-d", "pyod-hbos", "--dataset", "wine",
                 "--seeds", "1", "--no-progress", "--tracking-uri", uri, "--param", param])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and param.split("=")[0] in line
    assert list(tmp_path.iterdir()) == []  # nothing written: no store, no FAILED runs


def test_pyod_learning_rate_is_checked_too(tmp_path, capsys):
    code = main(["run", "-d", "pyod-autoencoder", "--dataset", "wine", "--param", "lr=-1",
                 "--tracking-uri", f"sqlite:///{tmp_path}/mlflow.db"])
    assert code == 2 and "pyod-autoencoder needs a positive number" in capsys.readouterr().err


def test_broken_json_is_refused_in_one_line(tmp_path):
    code, _, err, _ = _bench(["run", "-d", "ff-hb-svdd-mlp", "--param", "widths=[64,"],
                             tmp_path)
    line = _one_line_error(err)
    assert code == 2 and "not valid JSON" in line


HEAVY = ("torch", "pyod", "mlflow", "sklearn", "scipy")
USAGE_ERRORS = [
    ["run", "-d", "no-such-detector"],
    ["run", "--all", "--dataset", "no-such-dataset"],
    ["run", "--all", "--param", "epochs=true"],
    ["run", "-d", "ff-*", "--param", "widths=[]"],
    ["run", "-d", "dsvdd-*", "--param", "lr_milestones=[9,3]"],
    ["run", "-d", "pyod-*", "--param", "lr=-1"],
    ["run", "-d", "bp-online-*", "--param", "warmup=0", "--suite", "stream"],
    ["run", "-d", "ff-hb-svdd-mlp", "--param", "widths=[64,"],
    ["run", "--all", "--dataset", "banknote", "--data-dir", "/dev/null"],
]


@pytest.mark.parametrize("argv", USAGE_ERRORS, ids=lambda a: " ".join(a[1:]))
def test_usage_errors_come_before_torch_pyod_and_mlflow_load(argv, tmp_path):
    """A name or value the sweep cannot take is refused by the registry alone: neither torch,
    PyOD, MLflow nor scikit-learn is imported, and nothing is written."""
    probe = (
        "import sys, bench.cli\n"
        f"code = bench.cli.main({argv!r} + ['--tracking-uri', 'sqlite:///{tmp_path}/m.db'])\n"
        f"print(code, sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         cwd=tmp_path, check=True)
    assert out.stdout.split("\n")[0] == "2 []", out.stdout + out.stderr
    assert _one_line_error(out.stderr).startswith("error:")
    assert list(tmp_path.iterdir()) == []


# --- 13. an interrupted run is not "did not finish" once its trial finished -------------------


def test_killed_run_of_a_finished_trial_is_not_reported(tmp_path):
    from reports import load_runs

    uri = f"sqlite:///{tmp_path}/mlflow.db"
    client = MlflowClient(uri)
    exp = client.create_experiment("k", artifact_location=str(tmp_path / "a"))
    ids = {}
    for name, key, status in [("done-killed", "h1", "KILLED"), ("done", "h1", "FINISHED"),
                              ("lost", "h2", "KILLED")]:
        run = client.create_run(exp, tags={schema.TAG_TRIAL_HASH: key}, run_name=name)
        client.set_terminated(run.info.run_id, status)
        ids[name] = run.info.run_id
    runs = load_runs(["k"], uri)
    assert sorted(runs["run_name"]) == ["done", "lost"]
    assert np.array_equal(sorted(runs["status"]), ["FINISHED", "KILLED"])
