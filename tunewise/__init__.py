"""The ground every room of tunewise stands on.

Data loading, shapes, splits and profiles (`tunewise.data`), the model resolver and shared
inference (`models`, `model_files`, `inference`), the metric code and the one result record
(`metrics`, `results`), safe writes (`atomic`, `locks`, `ownership`, `disk_space`), errors,
paths, units, and the names used everywhere (`names`, `defaults`, `values`).

Importing it is cheap on purpose: torch, transformers, faiss and textual are imported only
inside the functions that need them (checked by import-linter and tests/test_import_hygiene.py).
"""

__version__ = "0.1.0"
