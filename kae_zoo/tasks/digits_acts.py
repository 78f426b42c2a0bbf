"""Task `digits_acts`: the `digits` base network's hidden states at one layer (`kae_zoo.tasks.activations`)."""

from __future__ import annotations

from . import register_task
from .activations import ActivationTask
from .digits import DigitsTask


@register_task("digits_acts")
class DigitsActsTask(ActivationTask):
    description = ("digits base network's 64-wide hidden states at digits_acts@LAYER, LAYER = input_layer or "
                   "block_1..4 (default block_2); scaled to train mean ||x||^2 = 64; downstream: later blocks, head")
    parent = DigitsTask
