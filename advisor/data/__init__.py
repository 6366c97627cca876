"""Reading, checking, splitting and profiling the user's data."""

from advisor.data.shapes import Dataset, Shape
from advisor.data.task import TASKS, DataSpec, TaskData, load_task_data

__all__ = ["TASKS", "DataSpec", "Dataset", "Shape", "TaskData", "load_task_data"]
