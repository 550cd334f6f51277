"""One-class objectives applied to one layer's activations.

Each objective maps a layer's activations ``h`` (batch x features; conv maps are flattened)
to a per-sample statistic (goodness or squared distance to a centre), and from that statistic
to the training loss (a mean over the batch) and the per-sample anomaly score (higher = more
anomalous). The SVDD objectives carry state: a fixed centre and, for the soft-boundary and
least-squares variants, a radius refreshed from the training distances.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from ff.hparams import OBJECTIVES


def flat(h: Tensor) -> Tensor:
    """Activations as (batch, features)."""
    return h.reshape(h.shape[0], -1)


class Objective:
    """Base class: ``stat`` -> ``loss_from`` / ``score_from``."""

    needs_centre = False
    needs_radius = False

    def stat(self, h: Tensor) -> Tensor:
        """Per-sample statistic the loss and score are built from."""
        raise NotImplementedError

    def loss_from(self, s: Tensor) -> Tensor:
        """Training loss (scalar) from a batch of statistics."""
        raise NotImplementedError

    def score_from(self, s: Tensor) -> Tensor:
        """Per-sample anomaly score from statistics (higher = more anomalous)."""
        raise NotImplementedError

    def penalty(self, h: Tensor) -> Tensor | float:
        """A batch-level term added to the training loss (none here)."""
        return 0.0

    def train_loss(self, h: Tensor, s: Tensor) -> Tensor:
        """What a training step minimises on a batch: the loss from its statistics ``s``
        (``stat(h)``) plus :meth:`penalty`."""
        return self.loss_from(s) + self.penalty(h)

    def loss(self, h: Tensor) -> Tensor:
        return self.loss_from(self.stat(h))

    def score(self, h: Tensor) -> Tensor:
        return self.score_from(self.stat(h))


class Goodness(Objective):
    """Adjusted goodness ``softplus(g - theta)``, minimised on normal data.

    ``g = sum(h**2)`` over the layer's features (not divided by their number: every layer
    after the first sees unit-length inputs, so the sum is on a comparable scale across
    widths, while a mean would shrink with width).

    On normals alone the loss is minimised by the zero map (collapse). ``variance_floor`` v > 0
    is a label-free guard against it: the step also minimises ``relu(v * theta - V)``, where V
    is the batch's total variance of the layer's outputs (the sum of each unit's variance), so
    the outputs cannot all shrink to one point while anomalies could still land elsewhere. The
    score is unchanged. v = 0 (the default) is the plain objective.
    """

    def __init__(self, theta: float, variance_floor: float = 0.0):
        self.theta, self.variance_floor = theta, variance_floor

    def penalty(self, h: Tensor) -> Tensor | float:
        if self.variance_floor <= 0:
            return 0.0
        spread = flat(h).var(0, correction=0).sum()
        return F.relu(self.variance_floor * self.theta - spread)

    def stat(self, h: Tensor) -> Tensor:
        return flat(h).pow(2).sum(1)

    def loss_from(self, s: Tensor) -> Tensor:
        return F.softplus(s - self.theta).mean()

    def score_from(self, s: Tensor) -> Tensor:
        return F.softplus(s - self.theta)


class SigmoidGoodness(Goodness):
    """Hinton's form ``sigmoid(g - theta)`` (probability of "positive"), minimised on normals."""

    def loss_from(self, s: Tensor) -> Tensor:
        return torch.sigmoid(s - self.theta).mean()

    def score_from(self, s: Tensor) -> Tensor:
        return torch.sigmoid(s - self.theta)


class HardBoundarySVDD(Objective):
    """Deep SVDD, one-class form: squared distance to a fixed centre ``c``.

    ``c`` is the mean activation of an initial forward pass over the training data; its
    coordinates with ``|c| < eps`` are pushed to ``+-eps`` (sign of ``c``, ``+`` for zero).
    """

    needs_centre = True

    def __init__(self, eps: float):
        self.eps = eps
        self.centre: Tensor | None = None
        self.eps_share: float | None = None  # share of coordinates the eps rule replaced

    def set_centre(self, mean: Tensor) -> None:
        c = mean.detach().clone()
        small = c.abs() < self.eps
        c[small & (c < 0)] = -self.eps
        c[small & (c >= 0)] = self.eps
        self.centre = c
        self.eps_share = float(small.float().mean())

    def stat(self, h: Tensor) -> Tensor:
        if self.centre is None:
            raise RuntimeError("centre not set: call set_centre first")
        return (flat(h) - self.centre.to(h.dtype)).pow(2).sum(1)

    def loss_from(self, s: Tensor) -> Tensor:
        return s.mean()

    def score_from(self, s: Tensor) -> Tensor:
        return s


class RadiusSVDD(HardBoundarySVDD):
    """SVDD with a radius ``R``: ``R**2`` is the ``(1 - nu)``-quantile of training distances.

    ``R`` is not trained by gradient; :meth:`update_radius` refreshes it (the trainer calls it
    after a warm-up epoch, every ``radius_update_every`` epochs). Score: ``||h - c||**2 - R**2``.
    """

    needs_radius = True

    def __init__(self, eps: float, nu: float):
        super().__init__(eps)
        self.nu = nu
        self.r2 = 0.0

    def update_radius(self, dists: Tensor) -> None:
        self.r2 = float(torch.quantile(dists.detach().double(), 1.0 - self.nu))

    def score_from(self, s: Tensor) -> Tensor:
        return s - self.r2


class SoftBoundarySVDD(RadiusSVDD):
    """Soft-boundary Deep SVDD: ``R**2 + (1/nu) * mean(max(0, d - R**2))``."""

    def loss_from(self, s: Tensor) -> Tensor:
        return self.r2 + torch.relu(s - self.r2).mean() / self.nu


class LeastSquaresSVDD(RadiusSVDD):
    """Least-squares SVDD: ``R**2 + (1/nu) * mean((d - R**2)**2)``."""

    def loss_from(self, s: Tensor) -> Tensor:
        return self.r2 + (s - self.r2).pow(2).mean() / self.nu


def make_objective(
    name: str, theta: float, nu: float, eps: float, variance_floor: float = 0.0
) -> Objective:
    """A fresh objective (with its own state) for one layer (``variance_floor``: goodness
    objectives' collapse guard, see :class:`Goodness`)."""
    if name == "goodness":
        return Goodness(theta, variance_floor)
    if name == "sigmoid-goodness":
        return SigmoidGoodness(theta, variance_floor)
    if name == "hb-svdd":
        return HardBoundarySVDD(eps)
    if name == "sb-svdd":
        return SoftBoundarySVDD(eps, nu)
    if name == "ls-svdd":
        return LeastSquaresSVDD(eps, nu)
    raise ValueError(f"unknown objective {name!r}; choose from {list(OBJECTIVES)}")
