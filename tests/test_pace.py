"""The speed and time left a training job shows (alexnet_core/pace.py)."""

import time

import pytest

from alexnet_core import pace


def test_speed_is_the_images_between_the_windows_ends_over_their_time():
    meter = pace.Speedometer()
    assert meter.add(32) is None, "one batch times nothing"
    time.sleep(0.05)
    speed = meter.add(16)  # a short last batch: 16 images in about 0.05 s
    assert 16 / 0.5 < speed <= 16 / 0.05
    meter.restart()
    assert meter.images_per_second() is None and meter.add(32) is None, "validation not counted"
    for _ in range(pace.SPEED_WINDOW + 5):
        meter.add(10)
    assert len(meter._window) == pace.SPEED_WINDOW, "the last batches only"


def test_time_left_takes_a_whole_epochs_pace_else_the_batches_speed():
    whole = {"batches": 10, "seconds": 50.0}  # validation included: 5 s a batch
    assert pace.time_left(4, whole, 10, 32, speed=320.0) == (20.0, True)
    cut = {"batches": 3, "seconds": 6.0}  # a stop cut it short: not an epoch's pace
    assert pace.time_left(4, cut, 10, 32, speed=320.0) == (pytest.approx(0.4), False)
    assert pace.time_left(4, None, 10, 32, speed=None) == (None, False)
