"""What an arm of a comparison will cost before it runs, and what its measured set-up would
cost on the hardware the user declared.

Two uses: `compare --budget-minutes` skips a training arm the estimator says cannot finish in
the time left (with the estimate as the reason), and every arm's measured set-up time is
projected onto the declared hardware and priced at its `price_per_gpu_hour`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from advisor.architectures import spec_for
from advisor.estimate import Estimate, Hardware, TrainingPlan, estimate_training
from tunewise.names import default_model

PLAN_TOKENS = 256  # tokens per example when the config leaves max_length to the data


def training_estimate(
    config: dict[str, Any], *, n_examples: int, n_labels: int | None, tokens_per_example: int | None, hardware: Hardware
) -> Estimate:
    """The estimator's memory and time for one resolved training config (`TrainConfig.to_dict()`)."""
    task = str(config.get("task") or "classification")
    model = str(config.get("base_model") or default_model(task))
    seq_len = int(config.get("max_length") or PLAN_TOKENS)
    batch = int(config.get("per_device_train_batch_size", 16))
    epochs = float(config.get("num_train_epochs", 3.0))
    max_steps = int(config.get("max_steps") or -1)
    if max_steps > 0 and n_examples > 0:  # a step limit replaces the epochs (the Trainer's rule)
        per_step = batch * int(config.get("gradient_accumulation_steps") or 1)
        epochs = max_steps * per_step / n_examples
    plan = TrainingPlan(
        method=config.get("method", "lora"),
        batch_size=batch,
        seq_len=seq_len,
        lora_r=int(config.get("lora_r", 16)),
        target_modules=config.get("target_modules", "all-linear"),
        gradient_checkpointing=bool(config.get("gradient_checkpointing", False)),
        num_labels=n_labels if task == "classification" else None,
        n_examples=n_examples,
        epochs=epochs,
        tokens_per_example=min(tokens_per_example, seq_len) if tokens_per_example else None,
    )
    return estimate_training(spec_for(model), plan, hardware)


@dataclass(frozen=True)
class SetupCost:
    seconds: float  # the measured set-up, scaled to the declared hardware
    usd: float  # those seconds at the declared price, for the declared GPUs (0 on a CPU)

    def to_dict(self) -> dict[str, float]:
        return {"projected_setup_seconds": self.seconds, "setup_usd": self.usd}


def project_setup(measured_seconds: float, here: Hardware, declared: Hardware) -> SetupCost:
    """Scale a set-up measured `here` by the two machines' effective speeds, then price it.

    The speeds are the estimator's, so the projection is as good as its calibration: on the same
    hardware it is the measurement itself.
    """
    seconds = measured_seconds * here.flops_per_second / declared.flops_per_second
    usd = seconds / 3600 * declared.gpu_count * declared.price_per_gpu_hour if declared.on_gpu else 0.0
    return SetupCost(seconds, usd)


def prediction_usd_per_1000(seconds_per_example: float, here: Hardware, declared: Hardware) -> float:
    """What 1,000 predictions of a model served on the declared hardware cost: the latency measured
    `here`, scaled like the set-up, at the declared price (0 on a CPU, as for the set-up)."""
    return project_setup(1000 * seconds_per_example, here, declared).usd
