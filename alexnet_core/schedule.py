"""The learning-rate schedules: the rate a run trains at, any fraction of an epoch into it.

Plain arithmetic, without Keras: the training callbacks set it each batch, and a job shows it
before its first batch.
"""

from __future__ import annotations

import math

from alexnet_core.config import TrainConfig

ONE_CYCLE_START = 1 / 25  # one-cycle starts at peak/25 (the usual div_factor of one-cycle)


def learning_rate_at(config: TrainConfig, position: float, total_epochs: int) -> float:
    """The scheduled learning rate `position` epochs into a run of `total_epochs` (position
    counts fractions of an epoch: 2.5 is halfway through the third epoch)."""
    peak = config.learning_rate
    progress = min(position / total_epochs, 1.0)
    if config.schedule == "step":
        # A negative power underflows to 0 where a division by a positive one would overflow
        # (a factor of 10 past 308 cuts, or a huge factor).
        return peak * config.step_factor ** -(int(position) // config.step_epochs)
    if config.schedule == "cosine":
        return peak * 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "one_cycle":
        # Linear warm-up from peak/25 to the peak, then cosine annealing down towards zero.
        warm = config.warmup_fraction
        if progress < warm:
            return peak * (ONE_CYCLE_START + (1 - ONE_CYCLE_START) * progress / warm)
        return peak * 0.5 * (1 + math.cos(math.pi * (progress - warm) / (1 - warm)))
    return peak
