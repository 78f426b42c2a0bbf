"""Task `yinyang_acts`: the `yinyang` base network's hidden states at one layer (`kae_zoo.tasks.activations`)."""

from __future__ import annotations

from . import register_task
from .activations import ActivationTask
from .yinyang import YinYangTask


@register_task("yinyang_acts")
class YinYangActsTask(ActivationTask):
    description = ("yinyang base network's 10-wide hidden states at yinyang_acts@LAYER, LAYER = input_layer or "
                   "block_1..5 (default block_3); scaled to train mean ||x||^2 = 10; downstream: later blocks, head")
    parent = YinYangTask
