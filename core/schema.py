"""The written schema of one trial's MLflow run: what the harness logs, what reports read.

Bump ``SCHEMA_VERSION`` whenever a name below changes meaning.
"""

from __future__ import annotations

SCHEMA_VERSION = "1"

# params: these keys, plus every hyperparameter actually used, prefixed "hp."
PARAM_DETECTOR = "detector"
PARAM_DATASET = "dataset"
PARAM_NORMAL_CLASS = "normal_class"
PARAM_SEED = "seed"
HPARAM_PREFIX = "hp."

# tags
TAG_TRIAL_HASH = "bench.trial_hash"
TAG_FAMILY = "bench.family"  # ff | bp | pyod | test
TAG_TWIN = "bench.twin"  # name of the twin detector, "" when none
TAG_OBJECTIVE = "bench.objective"
TAG_ARCH = "bench.arch"
TAG_VERSION = "bench.version"  # package version
TAG_DETECTOR_VERSION = "bench.detector_version"  # DetectorSpec.version: reports keep the newest
TAG_SCHEMA = "bench.schema"
TAG_GIT_COMMIT = "bench.git_commit"
TAG_DEVICE = "bench.device"  # cpu | cuda:0 ...
TAG_MEMORY_METER = "bench.memory_meter"  # e.g. "memray-peak-heap" or "cuda-max-allocated"
TAG_METER_VERSION = "bench.meter_version"  # METER_VERSION: reports drop older memory figures
#: What a memory figure means; raised when that changes, so old and new figures never mix
#: (it is in every trial's key, so a resumed sweep measures again). 2: the BLAS library's
#: per-call scratch is in every fit alike (MKL_DISABLE_FAST_MM, see bench.meters).
METER_VERSION = 2
TAG_SUITE = "bench.suite"
TAG_HOST = "bench.host"
TAG_CPU = "bench.cpu"
TAG_RAM = "bench.ram_bytes"  # physical memory of the host
TAG_OS = "bench.os"
TAG_THREADS = "bench.threads_per_trial"  # torch threads the trial ran with
TAG_WORKERS = "bench.workers"  # parallel trial processes of the sweep
TAG_DATA_PROTOCOL = "bench.data.protocol"
TAG_DATA_SHA256 = "bench.data.sha256"
TAG_DATA_SOURCE = "bench.data.source"
TAG_DATA_PREPROCESSING = "bench.data.preprocessing"
TAG_ERROR = "bench.error"  # one-line error of a FAILED run
TAG_COLLAPSED = "bench.collapsed"  # networks: goodness layers collapsed to the zero map, "" none
TAG_VERSION_PREFIX = "version."  # version.torch, version.pyod, version.mlflow, ...
TAG_SUMMARY = "bench.summary"  # "true" on the report's summary run
TAG_SWEEP_FILE = "bench.sweep_file"  # name of the --config TOML that produced the run
TAG_SWEEP_FILE_SHA256 = "bench.sweep_file.sha256"  # its sha256 (the file is an artifact)
# tuned networks: the label-free selection behind the preset, compact JSON (procedure,
# criterion, search_space, budget, tuning_splits, command, chosen; ff/presets.py)
TAG_SELECTION = "bench.selection"
TAG_PLUGIN = "bench.plugin"  # plugin (distribution or include:<file>) of a detector/dataset
TAG_PLUGIN_VERSION = "bench.plugin_version"  # its version (an included file: its sha256[:12])

# metrics
METRIC_AUROC = "auroc"
METRIC_AUPRC = "auprc"
METRIC_FIT_SECONDS = "fit_seconds"
METRIC_SCORE_SECONDS = "score_seconds"
METRIC_PEAK_TRAIN_MEM = "peak_train_mem_bytes"
METRIC_PEAK_RSS = "peak_rss_bytes"
METRIC_PEAK_GPU_MEM = "peak_gpu_mem_bytes"
METRIC_N_PARAMS = "n_params"
METRIC_N_TRAIN = "n_train"
METRIC_N_TEST = "n_test"
METRIC_ANOMALY_RATIO = "anomaly_ratio"
METRIC_N_FEATURES = "n_features"  # input dimension d (C*H*W for images)
METRIC_DEPTH = "depth"  # MLP hidden layers (memory study)
METRIC_WIDTH = "width"
METRIC_STEP_SECONDS = "step_seconds"  # train seconds (else fit seconds) / optimizer steps
# networks (ff/bp/bpl/untrained) also log "auroc.<rule>" and "auprc.<rule>" for every scoring
# rule (last, sum, layer1..layerL; the headline auroc is the detector's declared rule), and
# their fit phases apart: "train_seconds" (optimizer steps), "calibrate_seconds" (fitting
# untrained layers' objectives and the sum rule's scales on the training normals); per
# epoch (MLflow step = epoch) and trained layer: "train_loss.layer<k>", "train_stat.layer<k>";
# per trained SVDD layer the share of centre coordinates the eps rule replaced:
METRIC_CENTRE_EPS_SHARE = "centre_eps_share"  # ".layer<k>"

# stream runs (the online protocol, bench.prequential): auroc / auprc are prequential (every
# sample scored after the warm-up, by the detector before it learned it); fit_seconds is the
# cumulative update time and score_seconds the cumulative scoring time; n_test the scored
# samples; peak_train_mem_bytes the peak heap of the test-then-train loop
METRIC_STREAM_N_WARMUP = "stream_n_warmup"
METRIC_STREAM_N_BATCHES = "stream_n_batches"
METRIC_STREAM_SCORE_PER_SAMPLE = "stream_score_seconds_per_sample"
METRIC_STREAM_UPDATE_PER_SAMPLE = "stream_update_seconds_per_sample"
METRIC_STREAM_SECONDS = "stream_seconds"  # wall time of the test-then-train loop
METRIC_STREAM_THROUGHPUT = "stream_samples_per_second"  # scored samples / stream_seconds
METRIC_STREAM_WARMUP_SECONDS = "stream_warmup_seconds"
METRIC_STREAM_AUROC_WINDOW = "auroc_window"  # step metric: step = window index; the same
# values also as plain metrics "auroc_window.<index>", so results.csv holds the curves
METRIC_STREAM_DRIFT_AT = "stream_drift_at"  # drift streams: scored samples before the change
TAG_STREAM_WINDOW = "bench.stream.window"  # "<size>/<stride>" in scored samples

# artifacts
ARTIFACT_SCORES = "scores.csv"  # index, label (1 = anomaly), score, then score.<rule> columns
# (stream runs: index = position in the stream, in stream order; then source_row, segment)
ARTIFACT_TRACEBACK = "traceback.txt"  # FAILED runs
# (runs of a sweep file also hold the file itself, under its own name)

# dataset inputs (MLflow's dataset tracking, the UI's Datasets column): every FINISHED batch
# trial logs its split's two parts, metadata only (bench.splitinfo, bench.tracking)
INPUT_CONTEXTS = ("train", "test")  # the mlflow.data.context tag of each input
INPUT_SOURCE_TYPE = "ff-oneclass-bench"  # name "<dataset>/<normal class>", digest
# "<split sha256[:12]>-<part's indices sha256[:8]>", source JSON (dataset, normal_class, seed,
# source, protocol, preprocessing, files_sha256, split_sha256, indices_sha256), profile JSON
# (num_rows, shape, anomaly_share, contaminated)


def run_name(detector: str, dataset: str, normal_class: object, seed: int) -> str:
    """``<detector>/<dataset>/<normal class>/s<seed>``."""
    return f"{detector}/{dataset}/{normal_class}/s{seed}"
