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
    `DataFileError`); an unknown name raises an error listing the known tasks."""
    if is_file_task(name):
        return file_task(name)
    return TASKS.get(name)


import_submodules(__name__)  # built-in tasks register themselves on import: a new task is one new file
from .array_file import DataFileError, file_task, is_file_task  # noqa: E402

__all__ = ["DataFileError", "DataUnavailableError", "Task", "TaskData", "ClassificationTask", "register_task",
           "list_tasks", "get_task", "TASKS"]
