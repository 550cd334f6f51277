"""Executors: where trials run. The driver alone writes results; executors only compute them."""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

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
    """One worker process and the trial it is running."""

    def __init__(self, ctx: mp.context.BaseContext, options: RunOptions):
        self.conn, child = ctx.Pipe()
        env_threads = str(options.threads_per_trial)
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = env_threads
        self.process = ctx.Process(target=_worker, args=(child, options), daemon=True)
        self.process.start()
        child.close()
        self.trial: Trial | None = None
        self.started = 0.0

    def submit(self, trial: Trial) -> None:
        self.trial, self.started = trial, time.time()
        self.conn.send(trial)

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class LocalExecutor:
    """``workers`` long-lived local processes; a worker that dies is recorded and replaced."""

    name = "local"

    def __init__(self, workers: int):
        self.workers = max(1, workers)

    def run(self, trials: Sequence[Trial], options: RunOptions) -> Iterator[TrialResult]:
        """Yield one result per trial, in completion order."""
        if not trials:
            return
        ctx = mp.get_context("spawn")
        pending = list(reversed(trials))
        slots = [_Slot(ctx, options) for _ in range(min(self.workers, len(trials)))]
        try:
            for slot in slots:
                slot.submit(pending.pop())
            busy = len(slots)
            while busy:
                active = [s for s in slots if s.trial]
                ready = wait([s.conn for s in active] + [s.process.sentinel for s in active])
                for i, slot in enumerate(slots):
                    if slot.trial is None:
                        continue
                    if slot.conn in ready or slot.conn.poll():
                        try:
                            result = slot.conn.recv()
                        except EOFError:
                            result = None
                    elif slot.process.sentinel in ready:
                        result = None
                    else:
                        continue
                    if result is None:  # the process died with the trial
                        slot.process.join(timeout=5)
                        message = _death_message(slot.process.exitcode)
                        result = failed(slot.trial, message, message, slot.started)
                        slot = slots[i] = _Slot(ctx, options)
                    slot.trial = None
                    busy -= 1
                    yield result
                    if pending:
                        slot.submit(pending.pop())
                        busy += 1
        finally:
            for slot in slots:
                slot.stop()
