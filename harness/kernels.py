"""Which attention kernels a training run may use on a GPU.

PyTorch's scaled_dot_product_attention picks among several backends. On Hopper GPUs, for
16-bit inputs, it prefers cuDNN's, which builds an execution plan the first time it meets
an input configuration: about 100 ms on an H200, against well under a millisecond for
each later call. Training with dynamic padding meets a new configuration at most steps, so
the plans dominated bf16 steps (measured: 188 ms a step against 15 ms in fp32, with 75% of
the CPU time inside cuDNN's attention; `benchmarks/bench_gpu.py`). The memory-efficient and
flash kernels need no such set-up, and for fine-tuning's sequence lengths they are as fast.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def training_kernels(device_type: str) -> Iterator[None]:
    """For the duration: attention on any backend but cuDNN's, on a GPU; nothing changes on a CPU."""
    if device_type != "cuda":
        yield
        return
    from torch.nn.attention import SDPBackend, sdpa_kernel

    # The backend is chosen in the forward pass; the backward pass follows the forward's choice.
    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]):
        yield
