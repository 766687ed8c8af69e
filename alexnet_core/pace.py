"""How fast a training job goes, and how long it has left.

Plain numbers in, plain numbers out: the job feeds them under its own lock.
"""

from __future__ import annotations

import time
from collections import deque

SPEED_WINDOW = 30  # batches averaged for images/s: steady, yet follows a change within seconds


class Speedometer:
    """Images per second over the last SPEED_WINDOW batches."""

    def __init__(self):
        self._window: deque[tuple[float, int]] = deque(maxlen=SPEED_WINDOW)
        self._images = 0  # every image counted, so two window ends give the images between

    def add(self, images: int) -> float | None:
        """A batch of `images` has just trained: the speed now."""
        self._images += images
        self._window.append((time.monotonic(), self._images))
        return self.images_per_second()

    def restart(self) -> None:
        """Forget the window: what comes next (validation, a pause) is not training speed."""
        self._window.clear()

    def images_per_second(self) -> float | None:
        if len(self._window) < 2:
            return None
        (t0, n0), (t1, n1) = self._window[0], self._window[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else None


def time_left(batches_left: int, last_epoch: dict | None, batches_per_epoch: int,
              batch_size: int, speed: float | None) -> tuple[float | None, bool]:  # fmt: skip
    """Seconds for `batches_left`, and whether they count validation and checkpoints: at the
    pace of `last_epoch` (this session's last history row) when it trained every batch, its
    validation included (steady, and true to what an epoch costs); else, during the first
    epoch, at `speed`, training steps alone."""
    if last_epoch and last_epoch.get("batches") == batches_per_epoch and last_epoch.get("seconds"):
        return batches_left * last_epoch["seconds"] / batches_per_epoch, True
    if speed:
        return batches_left * batch_size / speed, False
    return None, False
