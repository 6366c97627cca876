"""Reading, checking, splitting and profiling the user's data."""

from tunewise.data.shapes import Dataset, Shape
from tunewise.data.task import DataSpec, TaskData, load_task_data

__all__ = ["DataSpec", "Dataset", "Shape", "TaskData", "load_task_data"]
