"""Task `mnist_acts`: the `mnist` base network's hidden states at one layer (`kae_zoo.tasks.activations`); it needs
the MNIST files as `mnist` does."""

from __future__ import annotations

from . import register_task
from .activations import ActivationTask
from .mnist import MnistTask


@register_task("mnist_acts")
class MnistActsTask(ActivationTask):
    description = ("mnist base network's 784-wide hidden states at mnist_acts@LAYER, LAYER = input_layer or "
                   "block_1..4 (default block_2); scaled to train mean ||x||^2 = 784; downstream: later blocks, head")
    parent = MnistTask
