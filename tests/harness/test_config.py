"""The training config: HF names, aliases, overrides, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.config import TrainConfig, build_config, check_runnable, load_config, validate
from harness.train import train
from tunewise.errors import ConfigError


def test_defaults_and_hf_names() -> None:
    config = build_config({})
    assert isinstance(config, TrainConfig)
    assert (config.method, config.per_device_train_batch_size, config.target_modules) == ("lora", 16, "all-linear")


def test_yaml_file_with_aliases_and_overrides(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(
        "base_model: minilm-l6\nmethod: lora\nr: 8\ncutoff_len: 128\nlearning_rate: 5e-4\ntarget_modules: [query, value]\n"
    )
    config = load_config(path, ["num_train_epochs=2", "lora_alpha=16", "report_to=tensorboard"])
    assert (config.lora_r, config.max_length, config.learning_rate) == (8, 128, 5e-4)
    assert (config.num_train_epochs, config.lora_alpha, config.report_to) == (2.0, 16, ["tensorboard"])
    assert config.target_modules == ["query", "value"]
    assert config.aliases_used == {"r": "lora_r", "cutoff_len": "max_length"}
    assert config.to_dict()["aliases_used"]["cutoff_len"] == "max_length"


@pytest.mark.parametrize(
    "values, overrides, message",
    [
        ({"learnig_rate": 1e-4}, [], "unknown config key 'learnig_rate'; did you mean 'learning_rate'"),
        ({"method": "prefix"}, [], "method: 'prefix' is not one of full, lora, qlora"),
        ({"r": 8, "lora_r": 16}, [], "r and lora_r both set lora_r"),
        ({"method": "full", "lora_r": 8}, [], "lora_r: only apply to method lora or qlora"),
        ({"learning_rate": 3}, [], "learning_rate: 3.0 must be between 0 and 1"),
        ({"per_device_train_batch_size": 0}, [], "per_device_train_batch_size: 0 must be positive"),
        ({"num_train_epochs": "many"}, [], "num_train_epochs: 'many' is not a number"),
        ({"report_to": ["comet"]}, [], "report_to: 'comet' is not one of"),
        ({"task": "classification", "packing": True}, [], "packing: only applies to generation"),
        ({}, ["learning_rate"], "expected KEY=VALUE"),
        ({}, ["epoch=3"], "unknown config key 'epoch'"),
        ({"num_train_epochs": float("nan")}, [], r"num_train_epochs: 'nan' is not a number \(NaN\)"),
        ({}, ["learning_rate=.inf"], r"learning_rate: 'inf' is infinite"),
        (
            {"per_device_train_batch_size": 1e20},
            [],
            r"per_device_train_batch_size: 1e\+20 is above the maximum of 4,096",
        ),
        ({"lora_r": 100_000}, [], "lora_r: 100,000 is above the maximum of 4,096"),
        ({"max_length": 10**12}, [], "max_length: 1,000,000,000,000 is above the maximum"),
        ({"weight_decay": -0.1}, [], "weight_decay: -0.1 is negative"),
        ({"seed": 2**32}, [], "seed: 4,294,967,296 is above the maximum of 4,294,967,295 .NumPy"),
        ({}, ["seed=" + "9" * 5000], "seed: '9+... .5,000 characters.' is infinite or too large"),
    ],
)
def test_bad_configs_name_the_key(values: dict[str, object], overrides: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_config(values, overrides)


@pytest.mark.parametrize(
    "key", ["num_train_epochs", "learning_rate", "weight_decay", "warmup_ratio", "lora_dropout", "eval_fraction"]
)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_validate_refuses_non_finite_floats(key: str, value: float) -> None:
    # A config built in code skips the parsing that refuses these; validate is the last gate before loading.
    with pytest.raises(ConfigError, match=rf"^{key}: -?(nan|inf) is not a finite number"):
        validate(TrainConfig(**{key: value}))  # type: ignore[arg-type]


def test_binary_and_nested_yaml_are_config_errors(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_bytes(b"\x00\xff\xfe\x01")
    with pytest.raises(ConfigError, match=r"train\.yaml:1: byte 0xff at column 2 is not UTF-8"):
        load_config(path)
    path.write_text("data: " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_config(path)


def test_yaml_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("method: lora\nlearning_rate: [1e-4\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml:\d+: not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.yaml")


def test_qlora_without_bitsandbytes_suggests_lora(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "bitsandbytes" else real(name, *a)
    )
    config = build_config({"method": "qlora"})  # a config for a machine that has it (a service's bundle) builds
    with pytest.raises(
        ConfigError, match=r"method: qlora needs bitsandbytes; install the quant extra .* or use method: lora"
    ):
        check_runnable(config)  # a run here is refused before it reads anything
    with pytest.raises(ConfigError, match="method: qlora needs bitsandbytes"):
        train(config)


def test_an_adapter_to_continue_is_looked_for_when_the_run_starts(tmp_path: Path) -> None:
    config = build_config({"method": "lora", "init_adapter": str(tmp_path / "elsewhere")})
    with pytest.raises(ConfigError, match=r"init_adapter: .*elsewhere holds no adapter_config\.json"):
        check_runnable(config)
    with pytest.raises(ConfigError, match="init_adapter: continues a LoRA adapter"):
        build_config({"method": "full", "init_adapter": str(tmp_path)})
