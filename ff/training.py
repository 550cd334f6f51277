"""The training loop shared by every training rule; the rules differ only in the step function.

* FF, sequential: each layer runs forward, computes its own loss and steps its own optimizer
  before the next layer runs on the detached (pre-update) output, so only one layer's graph
  is alive at a time.
* FF, fused: the same per-layer losses over detached inputs are summed and every layer's
  optimizer steps once. Because every layer sees the pre-update output of the layer below,
  this gives the same parameters as the sequential update (it keeps all graphs alive).
* BP: the sum of the targets' losses (every layer's, for the same-loss twin; the last
  layer's, for the last-layer twin) backpropagated end to end through undetached outputs,
  one optimizer over all parameters.

One step (one mini-batch, one update of every layer) counts as one optimizer step. Layers
trained without an objective get theirs fitted after training (:func:`fit_after_training`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from ff.networks import LayerStack
from ff.objectives import HardBoundarySVDD, Objective, RadiusSVDD
from ff.optim import LeanAdam, LeanSGD, Optimizer

# layer index -> objective trained (and scored) on that layer's output
Targets = dict[int, Objective]
Step = Callable[[Tensor], dict[int, Tensor]]


@dataclass(frozen=True)
class LoopConfig:
    """The loop's hyperparameters (a subset of the detector's)."""

    epochs: int
    max_steps: int | None
    batch_size: int
    radius_update_every: int
    radius_warmup_epochs: int


def make_optimizer(
    params: list[nn.Parameter], name: str, lr: float, weight_decay: float
) -> Optimizer:
    """Adam, or plain SGD (no momentum, so it holds no optimizer state): torch's updates
    without ``torch.optim.Optimizer``'s per-call overhead (see :mod:`ff.optim`)."""
    if name == "adam":
        return LeanAdam(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return LeanSGD(params, lr=lr, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose from ['adam', 'sgd']")


def batches(n: int, batch_size: int, order: Tensor | None = None) -> list[Tensor | slice]:
    """Index sets covering ``range(n)`` in mini-batches (in ``order`` when given)."""
    starts = range(0, n, batch_size)
    if order is None:
        return [slice(s, s + batch_size) for s in starts]
    return [order[s : s + batch_size] for s in starts]


@torch.no_grad()
def init_centres(net: LayerStack, targets: Targets, X: Tensor, batch_size: int) -> None:
    """Set each SVDD target's centre to its layer's mean output over ``X`` (initial network).

    Runs in training mode (batch statistics, as in training) and keeps only running sums.
    """
    wanted = {k: o for k, o in targets.items() if isinstance(o, HardBoundarySVDD)}
    if not wanted:
        return
    net.train()
    sums = _layer_sums(net, X, set(wanted), batch_size)
    for k, o in wanted.items():
        o.set_centre((sums[k] / len(X)).float())


def ff_step(
    net: LayerStack, targets: Targets, optimizers: list[Optimizer], fused: bool
) -> Step:
    """One FF update of every layer on a mini-batch; returns each layer's detached stats."""

    def step(x: Tensor) -> dict[int, Tensor]:
        stats: dict[int, Tensor] = {}
        total: Tensor | None = None
        for k, h in enumerate(net.outputs(x, detach=True)):
            s = targets[k].stat(h)
            loss = targets[k].train_loss(h, s)
            stats[k] = s.detach()
            if fused:
                total = loss if total is None else total + loss
            else:
                loss.backward()
                optimizers[k].step()
                optimizers[k].zero_grad()
        if fused and total is not None:
            total.backward()
            for opt in optimizers:
                opt.step()
                opt.zero_grad()
        return stats

    return step


def bp_step(
    net: LayerStack,
    targets: Targets,
    optimizer: Optimizer,
    checkpoint_layers: int | None = None,
    micro_batches: int = 1,
) -> Step:
    """One end-to-end update from the sum of the targets' losses (no detach anywhere).

    ``checkpoint_layers``: run the network in segments of that many layers under
    ``torch.utils.checkpoint`` (non-reentrant), each returning its output and its layers'
    losses, so only segment boundaries stay alive and each segment's graph is rebuilt in the
    backward pass. ``micro_batches``: split the batch into that many parts (sizes within one),
    backpropagate each part's loss weighted by its share of the batch, then step once; every
    objective's loss is a mean over samples plus terms without gradient, so the summed
    gradient is the full batch's (the goodness variance floor, a batch-level penalty, is then
    computed per part).
    """

    def losses(x: Tensor) -> tuple[Tensor, dict[int, Tensor]]:
        if checkpoint_layers is None:
            return _segment(net, targets, x, 0, len(net.layers))[1:]
        total, stats, h = x.new_zeros(()), {}, x
        for start in range(0, len(net.layers), checkpoint_layers):
            stop = min(start + checkpoint_layers, len(net.layers))
            h, part, seg = checkpoint(
                _segment, net, targets, h, start, stop, use_reentrant=False
            )
            total = total + part
            stats |= seg
        return total, stats

    def step(x: Tensor) -> dict[int, Tensor]:
        parts = torch.tensor_split(x, micro_batches) if micro_batches > 1 else (x,)
        seen: dict[int, list[Tensor]] = {}
        for part in parts:
            if not len(part):
                continue
            total, stats = losses(part)
            (total * (len(part) / len(x)) if len(parts) > 1 else total).backward()
            for k, s in stats.items():
                seen.setdefault(k, []).append(s.detach())
        optimizer.step()
        optimizer.zero_grad()
        return {k: torch.cat(v) for k, v in seen.items()}

    return step


def _segment(
    net: LayerStack, targets: Targets, x: Tensor, start: int, stop: int
) -> tuple[Tensor, Tensor, dict[int, Tensor]]:
    """Layers ``start`` to ``stop - 1`` on ``x``: the last output, the sum of the targets'
    losses among them and their statistics."""
    total: Tensor = x.new_zeros(())
    stats: dict[int, Tensor] = {}
    h = x
    for k, h in zip(range(start, stop), net.outputs(x, False, start, stop), strict=True):
        if k in targets:
            s = targets[k].stat(h)
            total = total + targets[k].train_loss(h, s)
            stats[k] = s
    if start == 0 and stop == len(net.layers) and not stats:
        raise AssertionError("bp_step needs at least one target")
    return h, total, stats


History = dict[str, list[float]]  # "train_loss.layer<k>" / "train_stat.layer<k>" -> per epoch


def run_loop(
    step: Step,
    targets: Targets,
    X: Tensor,
    cfg: LoopConfig,
    generator: torch.Generator,
    history: History | None = None,
) -> int:
    """Shuffled mini-batch epochs with radius updates; returns the number of steps taken.

    Radii of soft-boundary / least-squares targets are set to the ``(1 - nu)``-quantile of the
    distances seen during the epoch, at the end of every ``radius_update_every``-th epoch
    after ``radius_warmup_epochs`` warm-up epochs. ``history`` (when given) receives, per
    epoch and trained layer (1-based), the mean statistic (goodness or squared distance to
    the centre) and the loss on the epoch's statistics, both from the steps' own forward
    passes (no extra pass).
    """
    radius = {k: o for k, o in targets.items() if isinstance(o, RadiusSVDD)}
    steps = 0
    for epoch in range(cfg.epochs):
        order = torch.randperm(len(X), generator=generator).to(X.device)
        seen: dict[int, list[Tensor]] = {k: [] for k in targets}
        for idx in batches(len(X), cfg.batch_size, order):
            if cfg.max_steps is not None and steps >= cfg.max_steps:
                break
            stats = step(X[idx])
            steps += 1
            for k, s in stats.items():
                seen[k].append(s)
        if history is not None:
            _record_epoch(targets, seen, history)
        done = epoch + 1 - cfg.radius_warmup_epochs
        if done > 0 and (done - 1) % cfg.radius_update_every == 0:
            for k, o in radius.items():
                if seen[k]:
                    o.update_radius(torch.cat(seen[k]))
        if cfg.max_steps is not None and steps >= cfg.max_steps:
            break
    return steps


@torch.no_grad()
def _record_epoch(targets: Targets, seen: dict[int, list[Tensor]], history: History) -> None:
    for k, parts in seen.items():
        if parts:
            s = torch.cat(parts)
            history.setdefault(f"train_stat.layer{k + 1}", []).append(float(s.mean()))
            loss = float(targets[k].loss_from(s))
            history.setdefault(f"train_loss.layer{k + 1}", []).append(loss)


@torch.no_grad()
def layer_scores(net: LayerStack, targets: Targets, X: Tensor, batch_size: int) -> Tensor:
    """Per-sample scores of every target layer, (N, n_targets) float64, in evaluation mode."""
    net.eval()
    out = []
    for idx in batches(len(X), batch_size):
        cols = [
            targets[k].score(h.double())
            for k, h in enumerate(net.outputs(X[idx], detach=True))
            if k in targets
        ]
        out.append(torch.stack(cols, 1))
    return torch.cat(out)


@torch.no_grad()
def _layer_sums(net: LayerStack, X: Tensor, layers: set[int], batch_size: int) -> dict[int, Tensor]:
    """Per-layer float64 sums of the flattened outputs over ``X`` (in the current mode)."""
    sums: dict[int, Tensor] = {}
    for idx in batches(len(X), batch_size):
        for k, h in enumerate(net.outputs(X[idx], detach=True)):
            if k in layers:
                s = h.reshape(h.shape[0], -1).sum(0, dtype=torch.float64)
                sums[k] = sums[k] + s if k in sums else s
    return sums


@torch.no_grad()
def fit_after_training(net: LayerStack, targets: Targets, X: Tensor, batch_size: int) -> None:
    """Fit the state of objectives on layers that were not trained with one, from ``X`` only.

    In evaluation mode (as scoring runs): an SVDD centre is the layer's mean training output
    (no eps rule: it guards training against collapse, and nothing trains here); a radius is
    the ``(1 - nu)``-quantile of the training distances. Goodness has nothing to fit.
    """
    net.eval()
    centred = {k: o for k, o in targets.items() if isinstance(o, HardBoundarySVDD)}
    if not centred:
        return
    sums = _layer_sums(net, X, set(centred), batch_size)
    for k, o in centred.items():
        o.centre = (sums[k] / len(X)).float()
    radius = {k: o for k, o in centred.items() if isinstance(o, RadiusSVDD)}
    if radius:
        dists: dict[int, list[Tensor]] = {k: [] for k in radius}
        for idx in batches(len(X), batch_size):
            for k, h in enumerate(net.outputs(X[idx], detach=True)):
                if k in radius:
                    dists[k].append(radius[k].stat(h))
        for k, o in radius.items():
            o.update_radius(torch.cat(dists[k]))
