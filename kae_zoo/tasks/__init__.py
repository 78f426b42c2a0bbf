"""The task registry and the built-in tasks.

`register_task("name")` decorates a `Task` subclass; every module of this package is imported (so a new built-in
task is one new file), and third-party packages add tasks through the entry-point group `kae_zoo.tasks`.
`file:PATH.npz` names a task on the user's own arrays (`kae_zoo.tasks.array_file`).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from ..core.registry import Registry, import_submodules
from .base import ClassificationTask, DataUnavailableError, Task, TaskData

TaskT = TypeVar("TaskT", bound=type[Task])


def register_task(name: str) -> Callable[[TaskT], TaskT]:
    """Class decorator: register a `Task` subclass as task `name` (and set its `name`)."""

    def wrap(cls: TaskT) -> TaskT:
        if not (isinstance(cls, type) and issubclass(cls, Task)):
            raise TypeError(f"task {name!r} must be a subclass of kae_zoo.tasks.Task, got {cls!r}")
        cls.name = name
        return TASKS.register(name, cls)

    return wrap


TASKS: Registry[type[Task]] = Registry(
    "task", entry_point_group="kae_zoo.tasks", adopt=lambda name, cls: register_task(name)(cls)
)


def list_tasks() -> list[str]:
    """Names of every registered task."""
    return TASKS.names()


def get_task(name: str) -> type[Task]:
    """The task class called `name`, or of the user's data file for `file:PATH.npz` (checked now:
    `DataFileError`), or a representation task at a layer for `NAME@LAYER` (`digits_acts@block_1`; a bad layer, or
    `@` on a task without layers, is a ValueError naming the valid ones); an unknown name raises an error listing
    the known tasks."""
    if is_file_task(name):
        return file_task(name)
    registered, separator, layer = name.partition(LAYER_SEPARATOR)
    task = TASKS.get(registered)
    if not separator:
        return task
    if not issubclass(task, ActivationTask):
        with_layers = [other for other in TASKS.names() if issubclass(TASKS.get(other), ActivationTask)]
        raise ValueError(f"task {registered!r} takes no {LAYER_SEPARATOR}LAYER option (got {name!r}); tasks with "
                         f"layers: {', '.join(with_layers)}")
    return task.with_layer(layer)


def base_task_name(name: str) -> str:
    """The registered name of task `name`, without its `@LAYER` option: the key of a family's `task_presets`
    (`digits_acts@block_1` -> `digits_acts`; `file:` tasks as they are)."""
    return name if is_file_task(name) else name.partition(LAYER_SEPARATOR)[0]


import_submodules(__name__)  # built-in tasks register themselves on import: a new task is one new file
from .activations import LAYER_SEPARATOR, ActivationTask  # noqa: E402
from .array_file import DataFileError, file_task, is_file_task  # noqa: E402

__all__ = ["DataFileError", "DataUnavailableError", "Task", "TaskData", "ClassificationTask", "register_task",
           "list_tasks", "get_task", "base_task_name", "TASKS"]
