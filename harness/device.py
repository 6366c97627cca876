"""Pick the fastest device present, so the same code runs on a laptop, a CPU server or a GPU."""

from __future__ import annotations

import torch


def pick_device(requested: str | None = None) -> torch.device:
    """`requested` if given ("cpu", "cuda", "cuda:1", "mps"), else CUDA, then Apple MPS, then CPU."""
    if requested:
        return torch.device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")
