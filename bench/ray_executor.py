"""Ray executor: each trial is a Ray task; results come back to the driver, which alone
writes to MLflow. Needs the ``ray`` extra (``pip install -e ".[ray]"``)."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

from bench.executors import Claim, RunOptions
from bench.trial import Trial, TrialResult, failed
from bench.worker import execute

INSTALL_HINT = 'the Ray executor needs Ray: pip install -e ".[ray]"'
#: Ray's ``max_retries`` for each trial task: how many times a trial whose worker process
#: died (OOM kill, segfault, a lost node) is run again before it is recorded FAILED. An
#: exception inside a trial is never retried (``retry_exceptions=False``): it is a FAILED run
#: at once, as with the local executor. ``BENCH_RAY_MAX_RETRIES`` overrides it.
MAX_RETRIES = 1


def _run_trial(trial: Trial, options: RunOptions) -> TrialResult:
    """The task body: one thread per trial (Ray gives the task one CPU), then the trial."""
    import torch

    from bench import plugins

    torch.set_num_threads(options.threads_per_trial)
    plugins.load(options.includes)  # installed plugins and --include files, on this node
    return execute(trial, options.device, options.data_dir)


class RayExecutor:
    """Trials as Ray tasks with one CPU each (and one GPU each when ``gpus_per_trial``).

    ``address`` is passed to ``ray.init`` (``None`` starts a local instance, or uses the one
    this process already started; ``"auto"`` joins the cluster this node belongs to). A task
    whose worker process dies is run again up to ``max_retries`` times (Ray's task setting,
    :data:`MAX_RETRIES` by default), then recorded as FAILED; either way the driver gets one
    result per trial, so a trial is never lost or recorded twice.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        gpus_per_trial: float = 0,
        max_retries: int | None = None,
        **init: Any,
    ):
        try:
            import ray  # noqa: F401
        except ImportError:
            raise RuntimeError(INSTALL_HINT) from None
        self.address, self.gpus_per_trial, self.init = address, gpus_per_trial, init
        if max_retries is None:
            max_retries = int(os.environ.get("BENCH_RAY_MAX_RETRIES", MAX_RETRIES))
        self.max_retries = max_retries

    @property
    def workers(self) -> int:
        """Trials that can run at once: the cluster's CPUs."""
        self._connect()
        import ray

        return max(1, int(ray.cluster_resources().get("CPU", 1)))

    def _connect(self) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(
                address=self.address, include_dashboard=False, log_to_driver=False, **self.init
            )

    def run(
        self, trials: Sequence[Trial], options: RunOptions, claim: Claim | None = None
    ) -> Iterator[TrialResult]:
        """Yield one result per trial that ``claim`` accepts (all without it), in completion
        order. Every trial is claimed when it is submitted, so all of them at the start."""
        import ray

        self._connect()
        trials = [t for t in trials if claim is None or claim(t)]
        options = dataclasses.replace(options, threads_per_trial=1)
        task = ray.remote(
            num_cpus=1,
            num_gpus=self.gpus_per_trial,
            max_retries=self.max_retries,
            retry_exceptions=False,
        )(_run_trial)
        pending = {task.remote(trial, options): (trial, time.time()) for trial in trials}
        try:
            yield from self._results(pending)
        finally:
            for ref in pending:  # an interrupt: stop what still runs
                with contextlib.suppress(Exception):
                    ray.cancel(ref, force=True)

    def _results(self, pending: dict[Any, tuple[Trial, float]]) -> Iterator[TrialResult]:
        import ray

        while pending:
            (ref,), _ = ray.wait(list(pending), num_returns=1)
            trial, submitted = pending.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as exc:  # worker died, node lost, task error
                first = (str(exc).strip().splitlines() or [""])[0]
                retried = f" (after {self.max_retries} retries)" if self.max_retries else ""
                message = f"Ray task failed{retried}: {type(exc).__name__}: {first}"
                result = failed(trial, message, str(exc), submitted)
            yield result
