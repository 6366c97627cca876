"""The little the harness needs to know when `torchrun` or `accelerate launch` starts it.

The Trainer does the data-parallel work itself; these helpers decide which process writes the
run folder and check, at the end, that every process holds the same weights.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main() -> bool:
    return rank() == 0


def barrier() -> None:
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def weights_digest(model: Any) -> str:
    """A fingerprint of the trainable weights, equal on every rank of a healthy DDP run."""
    digest = hashlib.sha256()
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            digest.update(name.encode())
            digest.update(parameter.detach().float().cpu().numpy().tobytes())
    return digest.hexdigest()[:16]


def gather_digests(model: Any) -> list[str]:
    """Every rank's weights digest, in rank order (one entry when not distributed)."""
    import torch.distributed as dist

    mine = weights_digest(model)
    if not (dist.is_available() and dist.is_initialized()):
        return [mine]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, mine)
    return [str(d) for d in gathered]
