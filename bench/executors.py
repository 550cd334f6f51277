"""Executors: where trials run. The driver alone writes results; executors only compute them."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from bench import allocmeter
from bench.allocmeter import preload_env
from bench.detectors import preload
from bench.trial import Trial, TrialResult, failed
from bench.worker import execute


@dataclass(frozen=True)
class RunOptions:
    """What every trial of a sweep shares."""

    device: str
    data_dir: Path | None
    threads_per_trial: int = 1
    includes: tuple[str, ...] = ()  # --include files: workers load them (and entry points)


#: Called before a trial is handed to a worker; False means "not this one" (it is finished
#: or another sweep runs it). The runner claims the trial in the tracking store here.
Claim = Callable[[Trial], bool]

#: The driver's ends of every worker pipe. A forked worker inherits them all and must close
#: them, or a dead driver's pipes never reach EOF and its workers wait forever.
_DRIVER_ENDS: weakref.WeakSet[Connection] = weakref.WeakSet()

_PR_SET_PDEATHSIG = 1


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when the driver dies (Linux); exit now if it has."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the driver died before the signal was set
        os._exit(1)


def _worker(conn: Connection, options: RunOptions, parent: int) -> None:
    """Loop: receive a trial, run it, send the result; ``None`` or a dead driver ends it."""
    _die_with(parent)
    for end in list(_DRIVER_ENDS):
        end.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the driver decides when to stop
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the driver's handler, inherited by fork
    import torch

    from bench import plugins

    torch.set_num_threads(options.threads_per_trial)
    plugins.load(options.includes)  # the driver checked them; a plugin's trials need them
    while True:
        try:
            trial = conn.recv()
        except (EOFError, OSError):  # the driver is gone
            return
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
        _DRIVER_ENDS.add(self.conn)
        threads = str(options.threads_per_trial)
        child_env = preload_env(
            {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        )
        saved = dict(os.environ)
        os.environ.update(child_env)  # a spawned child starts with the parent's environment
        try:
            self.process = ctx.Process(
                target=_worker, args=(child, options, os.getpid()), daemon=True
            )
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
        """End the worker: at once when it still has trials (an interrupt), else politely."""
        if not self.inflight:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


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
        self._ctx = mp.get_context("fork" if allocmeter.active() else "spawn")

    def prepare(self, trials: Sequence[Trial]) -> None:
        """Before the sweep's clocks: a driver that forks its workers imports their detectors'
        code once here, so the workers inherit it instead of importing it on a first trial."""
        if self._ctx.get_start_method() == "fork":
            preload(t.detector for t in trials)

    def run(
        self, trials: Sequence[Trial], options: RunOptions, claim: Claim | None = None
    ) -> Iterator[TrialResult]:
        """Yield one result per trial that ``claim`` accepts (all without it), in completion
        order. Each trial is claimed just before it is handed to a worker."""
        if not trials:
            return
        # A driver that already carries the heap meter forks its workers (with the code that
        # ``prepare`` imported); otherwise workers are spawned with the meter preloaded.
        ctx = self._ctx
        pending = deque(trials)
        slots = [_Slot(ctx, options) for _ in range(min(self.workers, len(trials)))]

        def fill(slot: _Slot) -> None:
            while pending and len(slot.inflight) < self.QUEUE:
                trial = pending.popleft()
                if claim is None or claim(trial):
                    slot.submit(trial)

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
