"""Executors: where trials run. The driver alone writes results; executors only compute them."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bench import allocmeter
from bench.allocmeter import preload_env
from bench.trial import Trial, TrialResult, execute, failed


@dataclass(frozen=True)
class RunOptions:
    """What every trial of a sweep shares."""

    device: str
    data_dir: Path | None
    threads_per_trial: int = 1


def _worker(conn: Connection, options: RunOptions) -> None:
    """Loop: receive a trial, run it, send the result; ``None`` ends the loop."""
    import torch

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when to stop
    torch.set_num_threads(options.threads_per_trial)
    while True:
        trial = conn.recv()
        if trial is None:
            return
        conn.send(execute(trial, options.device, options.data_dir))


def _death_message(code: int | None) -> str:
    if code is not None and code < 0:
        name = signal.Signals(-code).name
        hint = " (killed: out of memory?)" if name == "SIGKILL" else ""
        return f"worker process died from {name}{hint}"
    return f"worker process exited with code {code} before returning a result"


class _Slot:
    """One worker process and the trials sent to it (the first is running, the rest wait)."""

    def __init__(self, ctx: mp.context.BaseContext, options: RunOptions):
        self.conn, child = ctx.Pipe()
        threads = str(options.threads_per_trial)
        child_env = preload_env(
            {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        )
        saved = dict(os.environ)
        os.environ.update(child_env)  # a spawned child starts with the parent's environment
        try:
            self.process = ctx.Process(target=_worker, args=(child, options), daemon=True)
            self.process.start()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        child.close()
        self.inflight: deque[tuple[Trial, float]] = deque()

    def submit(self, trial: Trial) -> None:
        """Queue ``trial``; a worker that is gone is noticed by ``receive``."""
        self.inflight.append((trial, time.time()))
        with contextlib.suppress(OSError):
            self.conn.send(trial)

    def receive(self) -> TrialResult | None:
        """The head trial's result, or None when the process died (nothing more to read)."""
        if self.conn.poll():
            try:
                result = self.conn.recv()
            except (EOFError, OSError):
                return None
            self.inflight.popleft()
            return result
        return None if not self.process.is_alive() else _NOT_YET

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


_NOT_YET: Any = object()


class LocalExecutor:
    """``workers`` long-lived local processes; a worker that dies is recorded and replaced.

    Each worker holds up to ``QUEUE`` trials, so it starts the next one while the driver
    records the last result.
    """

    name = "local"
    QUEUE = 2

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def run(self, trials: Sequence[Trial], options: RunOptions) -> Iterator[TrialResult]:
        """Yield one result per trial, in completion order."""
        if not trials:
            return
        # A driver that already carries the heap meter forks its workers (no imports to
        # repeat); otherwise workers are spawned with the meter preloaded.
        ctx = mp.get_context("fork" if allocmeter.active() else "spawn")
        pending = deque(trials)
        slots = [_Slot(ctx, options) for _ in range(min(self.workers, len(trials)))]

        def fill(slot: _Slot) -> None:
            while pending and len(slot.inflight) < self.QUEUE:
                slot.submit(pending.popleft())

        try:
            for slot in slots:
                fill(slot)
            while any(slot.inflight for slot in slots):
                active = [s for s in slots if s.inflight]
                wait([s.conn for s in active] + [s.process.sentinel for s in active])
                for i, slot in enumerate(slots):
                    if not slot.inflight:
                        continue
                    result = slot.receive()
                    if result is _NOT_YET:
                        continue
                    if result is None:  # the process died with its running trial
                        slot.process.join(timeout=5)
                        message = _death_message(slot.process.exitcode)
                        trial, started = slot.inflight.popleft()
                        result = failed(trial, message, message, started)
                        pending.extendleft(reversed([t for t, _ in slot.inflight]))
                        slot = slots[i] = _Slot(ctx, options)
                    fill(slot)
                    yield result
        finally:
            for slot in slots:
                slot.stop()
