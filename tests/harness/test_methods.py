"""QLoRA on 4-bit NF4 weights, packing, and LoRA target modules per architecture."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from harness.config import build_config
from harness.train import train
from tunewise.errors import ConfigError

needs_bitsandbytes = pytest.mark.skipif(
    importlib.util.find_spec("bitsandbytes") is None, reason="needs bitsandbytes: pip install 'tunewise[quant]'"
)


@needs_bitsandbytes
def test_qlora_trains_a_llama_on_4bit_weights(fixed_answer_data: Path, tmp_path: Path, smollm2: Path) -> None:
    out = tmp_path / "qlora"
    config = build_config(
        {"data": str(fixed_answer_data), "output_dir": str(out), "method": "qlora", "learning_rate": 2e-3,
         "max_steps": 10, "per_device_train_batch_size": 4, "max_length": 64, "eval_generate": 0}
    )  # fmt: skip
    outcome = train(config)
    assert outcome.metrics["eval"]["loss"] < 1.5  # from about 4 before training
    assert (out / "model" / "adapter_config.json").is_file()
    assert not (out / "model" / "model.safetensors").exists()  # the adapter only, not 4-bit base weights


@needs_bitsandbytes
def test_qlora_keeps_an_encoder_head_in_full_precision(sentiment_data: Path, tmp_path: Path) -> None:
    config = build_config(
        {"data": str(sentiment_data), "output_dir": str(tmp_path / "q"), "method": "qlora", "num_train_epochs": 2,
         "per_device_train_batch_size": 8}
    )  # fmt: skip
    outcome = train(config)
    assert outcome.metrics["eval"]["accuracy"] >= 0.8


def test_packed_batches_give_the_same_loss_as_padded_ones(smollm2: Path) -> None:
    import torch

    from harness.collate import collator_for
    from harness.modeling import load_for_training
    from harness.packing import PackedCollator, PackedDataset, row_of
    from harness.tokenize import encode_completion
    from tunewise.models import resolve_model

    # The model as the harness loads it for training (no KV cache, so packed rows are detected).
    loaded = load_for_training(
        build_config({"method": "full"}), "generation", resolve_model("smollm2-135m-instruct"), None, "cpu"
    )
    tokenizer, model = loaded.tokenizer, loaded.model.eval()
    chats = [
        [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
        for q, a in [
            ("What is 2+2?", "4."),
            ("Name a colour.", "Blue, like the sky."),
            ("Hi", "Hello! How can I help?"),
        ]
    ]
    examples = [encode_completion(chat, tokenizer, 128).to_dict() for chat in chats]
    padded = collator_for("generation", tokenizer)(examples)
    rows = PackedDataset(examples, max_length=128)
    assert len(rows) == 1  # the three short examples share one row
    packed = PackedCollator(tokenizer.pad_token_id)([rows[0]])
    assert packed["input_ids"].shape[1] == sum(len(e["input_ids"]) for e in examples)
    assert packed["input_ids"].shape[0] == 1 and "attention_mask" not in packed
    starts = (packed["position_ids"][0] == 0).nonzero().flatten().tolist()
    assert len(starts) == 3  # positions restart at each example: the model masks across them
    # Two rows of different lengths: the shorter is padded at its end with a sequence of its own.
    two_rows = PackedCollator(tokenizer.pad_token_id)([row_of(examples[:1]), row_of(examples[1:])])
    assert two_rows["input_ids"].shape[0] == 2
    assert (two_rows["input_ids"] == tokenizer.pad_token_id).any() and (two_rows["labels"] == -100).any()
    with torch.inference_mode():
        loss_padded = model(**padded).loss
        loss_packed = model(**packed).loss
        loss_two_rows = model(**two_rows).loss
    # All average over the same answer tokens; a leak across examples (or from the padding) would
    # change the packed loss.
    torch.testing.assert_close(loss_packed, loss_padded, atol=2e-4, rtol=2e-4)
    torch.testing.assert_close(loss_two_rows, loss_padded, atol=2e-4, rtol=2e-4)


def test_attention_kernels_give_the_same_loss_on_packed_rows(smollm2: Path) -> None:
    """`attention: eager` against the default (PyTorch's SDPA): the same loss, packed examples
    kept apart by both (a kernel that let them see each other would change the packed loss)."""
    import torch

    from harness.collate import collator_for
    from harness.modeling import load_for_training
    from harness.packing import PackedCollator, PackedDataset
    from harness.tokenize import encode_completion
    from tunewise.models import resolve_model

    losses = {}
    for attention in ("sdpa", "eager"):
        loaded = load_for_training(
            build_config({"method": "full", "attention": attention}), "generation",
            resolve_model("smollm2-135m-instruct"), None, "cpu",
        )  # fmt: skip
        assert loaded.model.config._attn_implementation == attention
        tokenizer, model = loaded.tokenizer, loaded.model.eval()
        chats = [
            [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
            for q, a in [("What is 2+2?", "4."), ("Name a colour.", "Blue, like the sky."), ("Hi", "Hello!")]
        ]
        examples = [encode_completion(chat, tokenizer, 128).to_dict() for chat in chats]
        packed = PackedCollator(tokenizer.pad_token_id)([PackedDataset(examples, max_length=128)[0]])
        with torch.inference_mode():
            losses[attention] = (model(**packed).loss, model(**collator_for("generation", tokenizer)(examples)).loss)
    torch.testing.assert_close(losses["eager"][0], losses["sdpa"][0], atol=2e-4, rtol=2e-4)
    torch.testing.assert_close(losses["eager"][0], losses["eager"][1], atol=2e-4, rtol=2e-4)


def test_target_module_presets_follow_the_architecture(sentiment_data: Path, tmp_path: Path) -> None:
    from harness.modeling import load_for_training
    from tunewise.models import resolve_model

    resolved = resolve_model("minilm-l6")
    labels = {"negative": 0, "positive": 1}
    attention = build_config({"target_modules": "attention", "lora_r": 4})
    loaded = load_for_training(attention, "classification", resolved, labels, "cpu")
    adapted = {n.split(".lora_A")[0].rsplit(".", 1)[-1] for n, _ in loaded.model.named_parameters() if "lora_A" in n}
    assert adapted == {"query", "key", "value", "dense"}
    assert not any("intermediate" in n and "lora_A" in n for n, _ in loaded.model.named_parameters())

    wrong = build_config({"target_modules": ["q_proj", "v_proj"]})
    with pytest.raises(
        ConfigError, match=r"target_modules: q_proj, v_proj matches no linear layer of BertForSequenceClassification"
    ):
        load_for_training(wrong, "classification", resolved, labels, "cpu")


def test_packing_trains_through_the_harness(fixed_answer_data: Path, tmp_path: Path, smollm2: Path) -> None:
    config = build_config(
        {"data": str(fixed_answer_data), "output_dir": str(tmp_path / "packed"), "packing": True, "max_steps": 3,
         "per_device_train_batch_size": 2, "max_length": 128, "eval_generate": 0, "learning_rate": 1e-3}
    )  # fmt: skip
    metrics = train(config).metrics
    assert metrics["steps"] == 3 and metrics["train_tokens_per_second"] > 0
    assert metrics["eval"]["loss"] < 3.0  # the untrained model is near 4 on these answers
    # Rows hold several examples each, filled most of the way to max_length.
    assert metrics["packed_rows"] < metrics["train_examples"]
    assert metrics["packing_fill"] > 0.6


def test_packing_fills_bins_with_every_example_once() -> None:
    from harness.packing import pack

    lengths = [60, 10, 35, 30, 5, 64, 20, 25, 40, 3]
    bins = pack(lengths, 64)
    assert sorted(i for b in bins for i in b) == list(range(len(lengths)))
    assert all(sum(lengths[i] for i in b) <= 64 for b in bins)
    assert len(bins) == -(-sum(lengths) // 64)  # as few rows as the tokens need (here FFD reaches it)
    assert pack(lengths, 64) == bins  # the same bins every time
