"""Per-layer optimizers without ``torch.optim.Optimizer``'s per-call overhead.

FF steps one optimizer per layer per mini-batch, so on small networks the fixed cost of each
``Optimizer.step`` call (profiler hook, state lookup, argument checks: about 0.1 ms) was a
large share of its step time, and a cost its algorithm does not have. These classes call the
same update functions as ``torch.optim.Adam`` and ``torch.optim.SGD`` (``torch.optim.adam.adam``
and ``torch.optim.sgd.sgd``), with the same state, defaults and implementation choice (foreach
or single-tensor, as torch picks for the parameters' device), so the parameters after each step
are bit-for-bit those of the torch optimizers (``tests/test_ff_optim.py``).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.optim import adam as adam_fn
from torch.optim import sgd as sgd_fn
from torch.optim.optimizer import _default_to_fused_or_foreach, _get_scalar_dtype


class _Lean:
    """Parameters and what every optimizer here shares: zero_grad, and torch's choice of
    foreach or single-tensor kernels for these parameters."""

    def __init__(self, params: list[nn.Parameter], lr: float, weight_decay: float):
        self.params = list(params)
        self.lr, self.weight_decay = lr, weight_decay
        self.foreach = _default_to_fused_or_foreach(self.params, False, False)[1]
        self.state: dict[nn.Parameter, tuple[Tensor, ...]] = {}  # per parameter, once stepped

    def _with_grads(self) -> list[Tensor]:
        return [p for p in self.params if p.grad is not None]

    def zero_grad(self) -> None:
        """Gradients dropped (``set_to_none=True``, torch's default)."""
        for p in self.params:
            p.grad = None


class LeanAdam(_Lean):
    """``torch.optim.Adam(params, lr, weight_decay=...)`` with its other defaults; ``state``
    holds (first moment, second moment, step) per parameter."""

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grads()
        if not params:  # as torch.optim.Adam: nothing to update
            return
        for p in params:  # lazily, as torch.optim.Adam: state exists once a gradient does
            if p not in self.state:
                zeros = torch.zeros_like(p, memory_format=torch.preserve_format)
                step = torch.tensor(0.0, dtype=_get_scalar_dtype())
                self.state[p] = zeros, torch.zeros_like(zeros), step
        exp_avgs, exp_avg_sqs, steps = zip(*(self.state[p] for p in params), strict=True)
        adam_fn.adam(
            params,
            [p.grad for p in params],
            list(exp_avgs),
            list(exp_avg_sqs),
            [],
            list(steps),
            foreach=self.foreach,
            has_complex=any(map(torch.is_complex, params)),
            amsgrad=False,
            beta1=0.9,
            beta2=0.999,
            lr=self.lr,
            weight_decay=self.weight_decay,
            eps=1e-8,
            maximize=False,
        )


class LeanSGD(_Lean):
    """``torch.optim.SGD(params, lr, weight_decay=...)``: no momentum, so no state."""

    @torch.no_grad()
    def step(self) -> None:
        params = self._with_grads()
        sgd_fn.sgd(
            params,
            [p.grad for p in params],
            [None] * len(params),
            foreach=self.foreach,
            weight_decay=self.weight_decay,
            momentum=0.0,
            lr=self.lr,
            dampening=0.0,
            nesterov=False,
            maximize=False,
        )


Optimizer = LeanAdam | LeanSGD
