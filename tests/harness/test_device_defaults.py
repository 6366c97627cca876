"""What a run does differently on a GPU: precision, the frozen base's dtype, padding, attention kernels.

These run on the CPU: each decision is a function of the device type, and the LoRA load is
checked by asking for the GPU layout without moving anything to a GPU.
"""

from __future__ import annotations

import pytest

from harness.collate import collator_for, padding_multiple
from harness.config import build_config
from harness.kernels import training_kernels
from harness.modeling import autocast_dtype, frozen_base_dtype, load_for_training


def test_mixed_precision_follows_the_device_and_the_method() -> None:
    import torch

    bf16 = {"precision": "bf16"}
    assert autocast_dtype(build_config(bf16 | {"method": "full"}), "cuda") == torch.bfloat16
    assert autocast_dtype(build_config(bf16 | {"method": "qlora"}), "cuda") == torch.bfloat16
    assert autocast_dtype(build_config(bf16 | {"method": "qlora"}), "cpu") is None  # bitsandbytes' own dtype
    assert autocast_dtype(build_config({"precision": "fp32"}), "cuda") is None
    assert autocast_dtype(build_config({"precision": "auto"}), "cpu") is None
    # Only LoRA's frozen base is stored at 16 bits; full fine-tuning keeps fp32 master weights.
    assert frozen_base_dtype(build_config(bf16 | {"method": "lora"}), "cuda") == torch.bfloat16
    assert frozen_base_dtype(build_config(bf16 | {"method": "full"}), "cuda") is None
    assert frozen_base_dtype(build_config(bf16 | {"method": "lora"}), "cpu") is None


def test_lora_on_a_gpu_stores_the_base_in_16_bits_and_trains_in_fp32() -> None:
    import torch

    from tunewise.models import resolve_model

    config = build_config({"method": "lora", "precision": "bf16", "lora_r": 4})
    loaded = load_for_training(config, "classification", resolve_model("minilm-l6"), {"a": 0, "b": 1}, "cuda")
    trained = {p.dtype for p in loaded.model.parameters() if p.requires_grad}
    frozen = {p.dtype for p in loaded.model.parameters() if not p.requires_grad}
    assert trained == {torch.float32}  # adapters and the head: updates too small for bf16 survive
    assert frozen == {torch.bfloat16}
    assert loaded.trainable_params < loaded.total_params / 10


def test_gpu_batches_are_rounded_to_tensor_core_tiles_and_cpu_batches_are_not() -> None:
    from transformers import AutoTokenizer

    from tunewise.models import resolve_model

    tokenizer = AutoTokenizer.from_pretrained(resolve_model("minilm-l6").path)
    rows = [{"input_ids": tokenizer(text)["input_ids"], "label": 0} for text in ("short", "a little longer than that")]
    longest = max(len(r["input_ids"]) for r in rows)
    on_cpu = collator_for("classification", tokenizer, multiple_of=padding_multiple("cpu"))(rows)
    on_gpu = collator_for("classification", tokenizer, multiple_of=padding_multiple("cuda"))(rows)
    assert on_cpu["input_ids"].shape[1] == longest
    assert on_gpu["input_ids"].shape[1] % 8 == 0 and longest <= on_gpu["input_ids"].shape[1] < longest + 8


@pytest.mark.parametrize("device_type", ["cpu", "cuda"])
def test_training_kernels_leave_the_attention_backends_as_they_were(device_type: str) -> None:
    import torch

    before = (torch.backends.cuda.cudnn_sdp_enabled(), torch.backends.cuda.mem_efficient_sdp_enabled())
    with training_kernels(device_type):
        if device_type == "cuda":
            # cuDNN's attention sets itself up anew for each input shape: off while training.
            assert not torch.backends.cuda.cudnn_sdp_enabled()
            assert torch.backends.cuda.mem_efficient_sdp_enabled()
        else:
            assert torch.backends.cuda.cudnn_sdp_enabled() == before[0]
    assert (torch.backends.cuda.cudnn_sdp_enabled(), torch.backends.cuda.mem_efficient_sdp_enabled()) == before
