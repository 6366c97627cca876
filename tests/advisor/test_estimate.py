"""The estimator against published figures (the test fails if a formula drifts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from advisor.architectures import KNOWN, spec_for, spec_from_config, spec_from_params
from advisor.estimate import Hardware, TrainingPlan, estimate_training, lora_params
from tests.conftest import CliResult
from tunewise.errors import ConfigError
from tunewise.models import resolve_model

MIB, GIB = 2**20, 2**30


@pytest.mark.parametrize(
    "name, params",
    [
        # parameter counts of the published checkpoints (Hugging Face model cards and configs)
        ("bert-base-cased", 108_310_272),
        ("bert-base-uncased", 109_482_240),
        ("gpt2", 124_439_808),
        ("llama-2-7b", 6_738_415_616),
        ("llama-3-8b", 8_030_261_248),
        ("mistral-7b", 7_241_732_096),
        ("qwen2.5-0.5b", 494_032_768),
        ("minilm-l6", 22_713_216),
        ("smollm2-135m-instruct", 134_515_008),
    ],
)
def test_parameter_counts_match_the_checkpoints(name: str, params: int) -> None:
    assert KNOWN[name].n_params() == params


def test_lora_on_gpt3_query_and_value_is_18_9m_parameters_and_about_35_mb() -> None:
    # LoRA paper, section 4.2: r=4 on Wq and Wv of GPT-3 175B; the checkpoint shrinks to ~35 MB.
    gpt3 = KNOWN["gpt3-175b"]
    assert lora_params(gpt3, 4, ["Wq", "Wv"]) == pytest.approx(18.9e6, rel=0.005)
    estimate = estimate_training(gpt3, TrainingPlan("lora", lora_r=4, target_modules=["Wq", "Wv"]), Hardware(80, 8))
    assert estimate.adapter_bytes / MIB == pytest.approx(35, rel=0.05)


def test_qlora_fits_65b_on_one_gpu_where_16_bit_needs_over_780_gb() -> None:
    # QLoRA paper: a 65B model fine-tunes on one 48 GB GPU; 16-bit full fine-tuning needs >780 GB.
    # The paper's recipe keeps adapters in bf16 and pages optimizer states out; as the harness
    # trains (peft's fp32 adapters, embeddings and norms), the same run needs about 50 GB: the
    # 4-bit weights (34 GB) plus 16 bytes for each of the 0.8B adapter parameters.
    llama65 = KNOWN["llama-65b"]
    gpu48 = Hardware(48, 1)
    plan = TrainingPlan(
        "qlora", batch_size=1, seq_len=512, lora_r=64, target_modules="all-linear", gradient_checkpointing=True
    )
    qlora = estimate_training(llama65, plan, gpu48)
    assert 44 < qlora.memory_gb < 56
    assert estimate_training(llama65, plan, Hardware(80, 1)).fits
    full16 = estimate_training(
        llama65, TrainingPlan("full", dtype="bf16", batch_size=1, seq_len=512, gradient_checkpointing=True), gpu48
    )
    assert full16.memory_gb > 780
    assert not full16.fits


def test_accelerate_estimate_memory_figures_for_bert_base_cased() -> None:
    # `accelerate estimate-memory bert-base-cased`: 413 MB to load in fp32, 1.61 GB to train with Adam
    # (accelerate prints binary units). Its training figure covers weights, gradients and Adam states.
    bert = KNOWN["bert-base-cased"]
    estimate = estimate_training(
        bert, TrainingPlan("full", dtype="fp32", batch_size=1, seq_len=8), Hardware(0, 0, 64, 8)
    )
    assert estimate.memory.weights / MIB == pytest.approx(413, abs=1)
    states = estimate.memory.weights + estimate.memory.gradients + estimate.memory.optimizer
    assert states / GIB == pytest.approx(1.61, abs=0.01)


def test_lora_trains_a_tiny_fraction_and_saves_a_tiny_file() -> None:
    llama = KNOWN["llama-2-7b"]
    full = estimate_training(llama, TrainingPlan("full"), Hardware(80, 1))
    lora = estimate_training(
        llama, TrainingPlan("lora", lora_r=8, target_modules=["q_proj", "v_proj"]), Hardware(80, 1)
    )
    assert lora.trainable_params == 32 * 2 * 8 * (4096 + 4096) == 4_194_304  # the figure peft prints
    assert lora.memory_gb < full.memory_gb / 3
    assert lora.adapter_bytes < full.adapter_bytes / 1000


def test_gradient_checkpointing_and_smaller_batches_save_activation_memory() -> None:
    spec = KNOWN["llama-2-7b"]
    gpu = Hardware(80, 1)
    base = estimate_training(spec, TrainingPlan("lora", batch_size=8, seq_len=1024), gpu)
    checkpointed = estimate_training(
        spec, TrainingPlan("lora", batch_size=8, seq_len=1024, gradient_checkpointing=True), gpu
    )
    smaller = estimate_training(spec, TrainingPlan("lora", batch_size=2, seq_len=1024), gpu)
    assert checkpointed.memory.activations < base.memory.activations / 5
    assert smaller.memory.activations < base.memory.activations / 3
    assert checkpointed.hours > base.hours  # recomputation costs a forward pass


def test_lora_dropout_keeps_a_copy_and_a_mask_of_each_adapted_layers_input() -> None:
    spec, cpu = KNOWN["smollm2-135m-instruct"], Hardware(0, 0, 64, 2)

    def activations(method: str, dropout: float, targets: list[str] | str = "all-linear") -> float:
        plan = TrainingPlan(method, batch_size=4, seq_len=256, lora_dropout=dropout, target_modules=targets)  # type: ignore[arg-type]
        return estimate_training(spec, plan, cpu).memory.activations

    # q, k, v, o, gate and up read 576 values a token, down 1,536: 4,992 a block, 30 blocks,
    # fp32 copies plus one-byte masks, for 4 x 256 tokens.
    assert activations("lora", 0.05) - activations("lora", 0.0) == 4 * 256 * 30 * 4992 * (4 + 1)
    assert activations("lora", 0.05, ["q_proj", "v_proj"]) - activations("lora", 0.0) == 4 * 256 * 30 * 1152 * 5
    assert activations("full", 0.05) == activations("full", 0.0)  # no adapters, no copies


def test_time_and_cost_scale_with_data_and_price() -> None:
    spec = KNOWN["mistral-7b"]
    one = estimate_training(spec, TrainingPlan("lora", n_examples=1000), Hardware(80, 1, price_per_gpu_hour=2.0))
    ten = estimate_training(spec, TrainingPlan("lora", n_examples=10000), Hardware(80, 1, price_per_gpu_hour=4.0))
    assert ten.hours == pytest.approx(10 * one.hours)
    assert ten.cost_usd == pytest.approx(20 * one.cost_usd)
    cpu = estimate_training(spec, TrainingPlan("lora", n_examples=1000), Hardware(0, 0, 64, 8))
    assert cpu.cost_usd == 0 and cpu.hours > 50 * one.hours


def test_specs_from_local_config_files_match_the_table(smollm2: Path) -> None:
    for alias, folder in (("minilm-l6", resolve_model("minilm-l6").path), ("smollm2-135m-instruct", smollm2)):
        config = json.loads((folder / "config.json").read_text())
        assert spec_from_config(config, alias).n_params() == KNOWN[alias].n_params()
        assert spec_for(str(folder)).n_params() == KNOWN[alias].n_params()


def test_a_parameter_count_gets_a_plausible_shape() -> None:
    spec = spec_from_params(7e9)
    assert spec.n_params() == pytest.approx(7e9, rel=0.05)
    with pytest.raises(ConfigError, match="positive"):
        spec_from_params(-1)


def test_unknown_models_and_modules_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="model_params"):
        spec_for("acme/unheard-of-model")
    with pytest.raises(ConfigError, match="not a linear layer"):
        lora_params(KNOWN["llama-2-7b"], 8, ["attn_weights"])


def test_estimate_command_json(cli: Callable[..., CliResult]) -> None:
    result = cli(
        "estimate",
        "--model",
        "llama-2-7b",
        "--method",
        "qlora",
        "--gpu-memory-gb",
        "24",
        "--gradient-checkpointing",
        "--json",
    )
    assert result.code == 0, result.err
    report = json.loads(result.out)
    assert report["dtype"] == "nf4"
    assert 3 < report["memory"]["weights_gb"] < 5  # 6.7B parameters, mostly at 4.127 bits
    assert report["fits"] is True


def test_estimate_command_rejects_bad_numbers(cli: Callable[..., CliResult]) -> None:
    result = cli("estimate", "--params", "7B", "--method", "lora", "--batch-size", "0")
    assert result.code == 2
    assert "--batch-size" in result.err


def test_small_data_gets_enough_updates_at_an_effective_batch_of_16() -> None:
    from advisor.hyperparameters import EFFECTIVE_BATCH, MAX_EPOCHS, MIN_UPDATES, epochs_for

    for n in (40, 300, 586, 2_000, 9_003, 50_000):
        epochs = epochs_for(n)
        updates = epochs * -(-n // EFFECTIVE_BATCH)
        assert updates >= MIN_UPDATES or epochs == MAX_EPOCHS, (n, epochs)
    assert epochs_for(586) > 5 and epochs_for(40) == MAX_EPOCHS  # a few hundred examples: more passes
    assert epochs_for(9_003) == 3 and epochs_for(50_000) == 2  # enough updates already: no more passes


def test_a_new_head_sees_every_label_often_enough() -> None:
    from advisor.hyperparameters import MAX_EPOCHS, MIN_SEEN_PER_LABEL, epochs_for

    # BANKING77: 130 examples a label; two passes left full fine-tuning at 0.812.
    assert epochs_for(10_003, n_labels=77) == 4
    assert MIN_SEEN_PER_LABEL <= 4 * 10_003 / 77
    assert epochs_for(3_000, n_labels=3) == epochs_for(3_000)  # sentiment: every label seen plenty
    assert epochs_for(200, n_labels=100) == MAX_EPOCHS


def test_advised_batches_add_up_to_16_even_where_32_fit() -> None:
    from advisor.answers import build_answers
    from advisor.recommend import recommend

    answers = build_answers({"task": "classification", "n_examples": 600, "n_labels": 18, "gpu_memory_gb": 80})
    for option in recommend(answers).ranking:
        if option.hyperparameters is not None:
            h = option.hyperparameters
            assert h.per_device_train_batch_size * h.gradient_accumulation_steps == 16, option.method
