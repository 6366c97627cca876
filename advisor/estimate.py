"""Memory, time and cost of fine-tuning (full, LoRA, QLoRA) and of running prompting or RAG.

The accounting, per device, in bytes:

- weights: every parameter at the storage width of its dtype. `fp32` stores 4 bytes;
  `bf16` stores 2; `nf4` stores the blocks' linear layers in 4-bit NormalFloat with double
  quantization, 4.127 bits per parameter (QLoRA, Dettmers et al. 2023, section 3), and
  keeps embeddings, norms and the head at the 16-bit compute width.
- gradients: one per trainable parameter, at the width of the trainable weights.
- optimizer: AdamW keeps two fp32 moments per trainable parameter: 8 bytes.
  Full fine-tuning in `bf16` on a GPU is mixed precision, as the harness trains (the
  Trainer's `bf16=True`): fp32 master weights and gradients, and the 16-bit copy autocast
  makes of each block weight for the step: 4 + 2 + 4 + 8 = 18 bytes per block parameter
  (measured on an H200: docs/benchmarks.md). LoRA's frozen base is stored at the 16-bit
  width on a GPU; adapters stay in fp32 (peft's default), 4 + 4 + 8 = 16 bytes each. QLoRA's
  unquantized parameters (embeddings, norms, head) are fp32: peft's
  `prepare_model_for_kbit_training` upcasts them.
- activations: per block, Korthikanti et al. 2022 ("Reducing Activation Recomputation in
  Large Transformer Models"), 34*s*b*h bytes at 16 bits for a 4h-wide MLP, generalised to
  any MLP width and to gated (SwiGLU) MLPs; under autocast the norms' inputs (the residual
  stream) stay fp32, so they count 4 bytes a value; the 5*a*s^2*b attention-score term is left out
  because transformers uses fused attention (SDPA) by default, except for models with attention
  dropout on a CPU, where the probabilities are materialised (3 * a*s^2*b values). LoRA with
  `lora_dropout` > 0 adds, for every adapted layer, the dropped-out copy of its input that the
  adapter's backward pass needs and the dropout mask (one byte a value). Gradient
  checkpointing keeps each block's input (2*s*b*h bytes) plus one block's full activations. A
  causal LM adds its fp32 logits, their copies inside the loss and their gradient: about
  4 * 4*b*s*V bytes at the peak (measured).
- overhead: on a GPU, the CUDA context and allocator slack (0.8 GB).

Time: 6 FLOPs per parameter per token for full fine-tuning (forward 2, backward 4), 5 for
LoRA (frozen weights need no weight gradients, but the adapters cost; measured 1.2x faster than
full here), plus 2 more with gradient checkpointing; QLoRA also pays for de-quantizing every
weight on the fly (x1.3 on a GPU; x1.1 measured on the CPU).
Effective throughput is the device's peak times a utilisation (GPU) or a per-core rate
calibrated on this project's CPU runs (`docs/benchmarks.md`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from advisor.architectures import ModelSpec
from tunewise.defaults import (
    DEFAULT_LORA_DROPOUT,
    MAX_BATCH_SIZE,
    MAX_EPOCHS,
    MAX_EXAMPLES,
    MAX_LABELS,
    MAX_LORA_R,
    MAX_TOKENS,
)
from tunewise.errors import ConfigError
from tunewise.names import Method
from tunewise.units import human_duration
from tunewise.values import check_range

Dtype = Literal["fp32", "bf16", "nf4"]
DTYPES: tuple[Dtype, ...] = ("fp32", "bf16", "nf4")

NF4_BITS = 4.127  # 4-bit NormalFloat + double-quantized block constants (QLoRA paper)
ADAM_BYTES = 8
GPU_OVERHEAD_BYTES = int(0.8e9)
CPU_FLOPS_PER_CORE = 30e9  # measured: SmolLM2-135M full fine-tuning, 2 cores (docs/benchmarks.md)
GPU_UTILISATION = 0.35  # model FLOPs utilisation of a well-fed single-GPU Trainer run
QLORA_SLOWDOWN = {"gpu": 1.3, "cpu": 1.1}  # CPU: measured against LoRA (docs/benchmarks.md)
MULTI_GPU_EFFICIENCY = 0.9
LOGIT_COPIES = 4  # measured: SmolLM2's loss holds about four logits-sized fp32 buffers at its peak


@dataclass(frozen=True)
class GpuClass:
    name: str
    memory_gb: float
    bf16_tflops: float  # dense peak


# Inferred from the memory the user reports, when they do not name the card.
GPU_CLASSES = (
    GpuClass("T4-class", 16, 65),
    GpuClass("A10G/L4-class", 24, 120),
    GpuClass("L40S/A6000-class", 48, 180),
    GpuClass("A100-class", 80, 312),
    GpuClass("H100/H200-class", 1e9, 989),
)


def gpu_class(memory_gb: float) -> GpuClass:
    return next(c for c in GPU_CLASSES if memory_gb <= c.memory_gb)


@dataclass(frozen=True)
class Hardware:
    """Where the work runs."""

    gpu_memory_gb: float = 0.0
    gpu_count: int = 0
    ram_gb: float = 32.0
    cpu_cores: int = 8
    price_per_gpu_hour: float = 2.0

    @property
    def on_gpu(self) -> bool:
        return self.gpu_count > 0 and self.gpu_memory_gb > 0

    @property
    def device_memory_bytes(self) -> float:
        """What one device offers: a GPU's memory, or the machine's RAM."""
        return (self.gpu_memory_gb if self.on_gpu else self.ram_gb) * 1e9

    @property
    def flops_per_second(self) -> float:
        """Effective training FLOP/s of the whole machine."""
        if not self.on_gpu:
            return self.cpu_cores * CPU_FLOPS_PER_CORE
        per_gpu = gpu_class(self.gpu_memory_gb).bf16_tflops * 1e12 * GPU_UTILISATION
        scaling = 1.0 if self.gpu_count == 1 else MULTI_GPU_EFFICIENCY
        return per_gpu * self.gpu_count * scaling

    def describe(self) -> str:
        if not self.on_gpu:
            return f"CPU only ({self.cpu_cores} cores, {self.ram_gb:g} GB RAM)"
        return f"{self.gpu_count} x {self.gpu_memory_gb:g} GB GPU ({gpu_class(self.gpu_memory_gb).name})"


@dataclass(frozen=True)
class Memory:
    """Peak memory of one device, by component, in bytes."""

    weights: float
    gradients: float
    optimizer: float
    activations: float
    overhead: float = 0.0

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.optimizer + self.activations + self.overhead

    def to_dict(self) -> dict[str, float]:
        parts = {
            "weights": self.weights,
            "gradients": self.gradients,
            "optimizer": self.optimizer,
            "activations": self.activations,
            "overhead": self.overhead,
        }
        return {f"{k}_gb": round(v / 1e9, 3) for k, v in parts.items()} | {"total_gb": round(self.total / 1e9, 3)}


@dataclass(frozen=True)
class TrainingPlan:
    """The knobs that change memory and time."""

    method: Method
    dtype: Dtype | None = None  # None: fp32 on CPU, bf16 on GPU, nf4 for QLoRA
    batch_size: int = 8
    seq_len: int = 256
    lora_r: int = 16
    target_modules: list[str] | str = "all-linear"
    lora_dropout: float = DEFAULT_LORA_DROPOUT
    gradient_checkpointing: bool = False
    num_labels: int | None = None  # a classification head instead of the LM head
    n_examples: int = 1000
    epochs: float = 3.0
    tokens_per_example: int | None = None  # mean; default half of seq_len


def validate_plan(plan: TrainingPlan) -> list[str]:
    """Refuse an impossible plan with a `ConfigError` naming its `tunewise estimate` flags; warn of unusual ones."""
    ranges: tuple[tuple[str, float | None, float, float, str], ...] = (
        ("--batch-size", plan.batch_size, 1, MAX_BATCH_SIZE, "no device holds more sequences in one step"),
        ("--seq-len", plan.seq_len, 1, MAX_TOKENS, "longer than any model's context window"),
        ("--tokens-per-example", plan.tokens_per_example, 1, MAX_TOKENS, "longer than any model's context window"),
        ("--lora-r", plan.lora_r, 1, MAX_LORA_R, "wider than nearly every layer; typical ranks are 8 to 64"),
        ("--n-examples", plan.n_examples, 0, MAX_EXAMPLES, "more than any fine-tuning data set"),
        ("--epochs", plan.epochs, 0, MAX_EPOCHS, "more passes than any fine-tuning needs"),
        ("--num-labels", plan.num_labels, 2, MAX_LABELS, "more than any label set"),
    )
    if plan.num_labels is not None and plan.num_labels < 2:
        raise ConfigError(
            f"--num-labels: {plan.num_labels} is below 2: a classification head needs at least two labels; "
            "give the number of classes, or leave --num-labels out for a language-model head"
        )
    for flag, value, minimum, maximum, why in ranges:
        if value is not None:
            check_range(flag, value, minimum, maximum, why)
    if not 0 <= plan.lora_dropout < 1:
        raise ConfigError(f"--lora-dropout: {plan.lora_dropout:g} must be in [0, 1), e.g. {DEFAULT_LORA_DROPOUT}")
    _check_method_and_dtype(plan.method, plan.dtype)
    if plan.num_labels is not None and 0 < plan.n_examples < plan.num_labels:
        raise ConfigError(
            f"--num-labels {plan.num_labels:,} with --n-examples {plan.n_examples:,}: more labels than examples, "
            "and every label needs at least one; give the real counts"
        )
    warnings: list[str] = []
    if plan.tokens_per_example is not None and plan.tokens_per_example > plan.seq_len:
        warnings.append(
            f"--tokens-per-example {plan.tokens_per_example:,} is above --seq-len {plan.seq_len:,}: examples are "
            "cut to --seq-len, so time is estimated for that; raise --seq-len to keep them whole"
        )
    return warnings


def _check_method_and_dtype(method: Method, dtype: Dtype | None) -> None:
    """The weights' dtype follows from the method for 4-bit training: anything else is another method."""
    if method == "qlora" and dtype not in (None, "nf4"):
        raise ConfigError(
            f"--method qlora with --dtype {dtype}: QLoRA keeps the base weights in 4-bit NF4, so they cannot be "
            f"{dtype}; leave --dtype out (or give nf4), or use --method lora for {dtype} weights"
        )
    if method == "lora" and dtype == "nf4":
        raise ConfigError("--method lora with --dtype nf4: LoRA on 4-bit weights is QLoRA; use --method qlora")
    if method == "full" and dtype == "nf4":
        raise ConfigError(
            "--method full with --dtype nf4: 4-bit weights cannot be trained; use --method qlora, or --dtype bf16 "
            "or fp32 for full fine-tuning"
        )


@dataclass(frozen=True)
class Estimate:
    method: str
    model: str
    dtype: str
    device: str
    total_params: int
    trainable_params: int
    memory: Memory
    adapter_bytes: int
    tokens: float
    hours: float
    cost_usd: float
    fits: bool
    notes: list[str] = field(default_factory=list)
    measured_runs: int = 0  # runs on this machine whose ratio corrected time and memory (`advisor.calibration`)

    @property
    def memory_gb(self) -> float:
        return self.memory.total / 1e9

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "model": self.model,
            "dtype": self.dtype,
            "device": self.device,
            "total_params": self.total_params,
            "trainable_params": self.trainable_params,
            "memory_gb": round(self.memory_gb, 3),
            "memory": self.memory.to_dict(),
            "adapter_mb": round(self.adapter_bytes / 1e6, 2),
            "tokens": int(self.tokens),
            "hours": round(self.hours, 4),
            "cost_usd": round(self.cost_usd, 2),
            "fits": self.fits,
            "notes": list(self.notes),
            "measured_runs": self.measured_runs,
        }


def time_said(estimate: Mapping[str, Any]) -> str:
    """An estimate's time (as `Estimate.to_dict` writes it) for people: "4 min", or "4 min (from 6
    runs here)" once runs measured on this machine corrected it."""
    runs = int(estimate.get("measured_runs") or 0)
    return human_duration(float(estimate["hours"])) + (f" (from {runs} runs here)" if runs else "")


def bytes_per_param(dtype: Dtype) -> float:
    return {"fp32": 4.0, "bf16": 2.0, "nf4": NF4_BITS / 8}[dtype]


def lora_params(spec: ModelSpec, r: int, target_modules: list[str] | str) -> int:
    """Trainable LoRA parameters: r * (in + out) for each targeted linear layer of every block."""
    shapes = spec.linear_shapes()
    roles = spec.resolve_targets(target_modules)
    count = spec.num_layers * sum(r * (shapes[role][0] + shapes[role][1]) for role in roles)
    if spec.pooler:
        # The pooler is trained in full with the head (harness.modeling.CLASSIFICATION_HEAD_MODULES),
        # in place of the LoRA that all-linear would give it.
        count += spec.hidden_size * spec.hidden_size + spec.hidden_size
    return count


def head_params(spec: ModelSpec, num_labels: int | None) -> int:
    """A new classification head (dense to the labels), trained by every method."""
    return spec.hidden_size * num_labels + num_labels if num_labels else 0


def lora_dropout_inputs(spec: ModelSpec, target_modules: list[str] | str) -> int:
    """Values per token and block that LoRA's dropout keeps: the input width of each adapted layer."""
    shapes = spec.linear_shapes()
    return sum(shapes[role][0] for role in spec.resolve_targets(target_modules))


def activation_bytes(
    spec: ModelSpec,
    batch: int,
    seq: int,
    width: float,
    checkpointing: bool,
    fused_attention: bool = True,
    dropped_inputs: int = 0,
    norm_width: float | None = None,
) -> float:
    """Activations alive at the peak of a training step, all blocks, at `width` bytes per value.

    `fused_attention` is False where attention with dropout falls back to materialising the
    probabilities (on the CPU), adding softmax output, dropout mask and dropout output: three
    (heads x seq x seq) tensors per sequence and block. `dropped_inputs` counts the values per
    token and block that LoRA's dropout copies (`lora_dropout_inputs`); each also has a
    one-byte mask. `norm_width` is the width of the norms' saved inputs (fp32 under autocast),
    `width` when not given.
    """
    h, f, tokens = spec.hidden_size, spec.intermediate_size, batch * seq
    attention = 11 * h  # Korthikanti et al.: q/k/v input, q, k, v, attention output, dropout mask
    mlp = 2 * h + (8 * f if spec.gated_mlp else 4 * f + h)
    norms = 4 * h * (norm_width or width) / width
    per_block = tokens * (attention + mlp + norms) * width / 2  # the formula counts 16-bit values
    if spec.attention_dropout and not fused_attention:
        per_block += 3 * width * spec.num_heads * seq * seq * batch
    per_block += tokens * dropped_inputs * (width + 1)
    # Checkpointing keeps only each block's input, plus the one block being recomputed.
    stored = spec.num_layers * (tokens * h * width if checkpointing else per_block)
    if checkpointing:
        stored += per_block
    if spec.kind == "causal-lm":
        # fp32 logits, their copy and log-softmax inside the loss, and their gradient
        stored += LOGIT_COPIES * 4 * tokens * spec.vocab_size
    return stored


# On CPU cores, peft's adapters on a small encoder cost more than the weight gradients they
# save: MiniLM-L6 trained at 23.8 samples/s with LoRA against 32.4 in full (docs/benchmarks.md),
# so LoRA's passes there are full fine-tuning's 3 x 32.4 / 23.8. SmolLM2-135M, a causal LM, was
# measured the other way round (LoRA 1.2x faster), as the LoRA paper expects.
CPU_ENCODER_LORA_PASSES = 3.0 * 32.4 / 23.8


def training_flops_per_token(
    spec: ModelSpec, method: Method, checkpointing: bool, seq: int, *, on_gpu: bool = True
) -> float:
    # The input embedding is a lookup; the LM head is a real matmul.
    matmul_params = spec.num_layers * spec.block_linear_params()
    if spec.kind == "causal-lm":
        matmul_params += spec.vocab_size * spec.hidden_size
    forward = 2 * matmul_params + 2 * spec.num_layers * seq * spec.hidden_size  # + attention scores
    # LoRA skips the frozen weights' gradients but still back-propagates through them and pays
    # for the adapters: 1.2x faster than full fine-tuning here, 25% in the LoRA paper.
    passes = {"full": 3.0, "lora": 2.5, "qlora": 2.5}[method]
    if method == "lora" and not on_gpu and spec.kind == "encoder":
        passes = CPU_ENCODER_LORA_PASSES
    passes += 1.0 if checkpointing else 0.0
    return forward * passes


def estimate_training(spec: ModelSpec, plan: TrainingPlan, hardware: Hardware) -> Estimate:
    """Estimate one fine-tuning run of `spec` on `hardware`."""
    on_gpu = hardware.on_gpu
    dtype: Dtype = plan.dtype or ("nf4" if plan.method == "qlora" else "bf16" if on_gpu else "fp32")
    compute_width = 2.0 if on_gpu and dtype != "fp32" else 4.0  # bytes of an activation value
    total = spec.n_params()
    head = head_params(spec, plan.num_labels)
    notes: list[str] = []

    mixed = on_gpu and compute_width == 2.0  # autocast over fp32 weights
    if plan.method == "full":
        trainable = total + head
        weight_width = 4.0 if mixed else bytes_per_param(dtype if dtype != "nf4" else "bf16")
        weights = trainable * weight_width
        if mixed:  # autocast's 16-bit copy of every block weight, alive for the step
            weights += spec.quantizable_params() * 2.0
        gradients = trainable * weight_width
        optimizer = trainable * ADAM_BYTES
        adapter_bytes = int(trainable * (2.0 if mixed else weight_width))
    else:
        adapters = lora_params(spec, plan.lora_r, plan.target_modules)
        trainable = adapters + head
        if plan.method == "qlora":
            quantized = spec.quantizable_params()
            weights = quantized * bytes_per_param("nf4") + (total - quantized) * 4.0
        else:
            weights = total * bytes_per_param(dtype)
        adapter_width = 4.0  # peft keeps adapters in fp32
        weights += trainable * adapter_width
        gradients = trainable * adapter_width
        optimizer = trainable * ADAM_BYTES
        adapter_bytes = int(adapters * (2 if on_gpu else 4) + head * 4)

    # On several GPUs the weights, gradients and optimizer states are sharded (FSDP / ZeRO-3,
    # which also works with LoRA and QLoRA) and the batch is split between them.
    devices = hardware.gpu_count if on_gpu else 1
    shard = devices if devices > 1 else 1
    if shard > 1:
        notes.append(f"weights, gradients and optimizer states sharded over {shard} GPUs (FSDP)")
    per_device_batch = max(1, plan.batch_size // devices) if devices > 1 else plan.batch_size
    # peft replaces a zero dropout by the identity, which keeps no copy.
    dropped = lora_dropout_inputs(spec, plan.target_modules) if plan.method != "full" and plan.lora_dropout > 0 else 0
    activations = activation_bytes(
        spec,
        per_device_batch,
        plan.seq_len,
        compute_width,
        plan.gradient_checkpointing,
        fused_attention=on_gpu,
        dropped_inputs=dropped,
        norm_width=4.0 if mixed else None,
    )
    memory = Memory(
        weights / shard,
        gradients / shard,
        optimizer / shard,
        activations,
        GPU_OVERHEAD_BYTES if on_gpu else 0.0,
    )

    mean_tokens = plan.tokens_per_example or max(1, plan.seq_len // 2)
    tokens = plan.n_examples * plan.epochs * min(mean_tokens, plan.seq_len)
    flops = tokens * training_flops_per_token(
        spec, plan.method, plan.gradient_checkpointing, plan.seq_len, on_gpu=on_gpu
    )
    if plan.method == "qlora":
        flops *= QLORA_SLOWDOWN["gpu" if on_gpu else "cpu"]
    hours = flops / hardware.flops_per_second / 3600
    cost = hours * hardware.gpu_count * hardware.price_per_gpu_hour if on_gpu else 0.0
    fits = memory.total <= hardware.device_memory_bytes
    return Estimate(
        plan.method,
        spec.name,
        dtype,
        hardware.describe(),
        total + head,
        trainable,
        memory,
        adapter_bytes,
        tokens,
        hours,
        cost,
        fits,
        notes,
    )


def estimate_inference(
    spec: ModelSpec,
    hardware: Hardware,
    *,
    n_queries: int,
    prompt_tokens: int,
    new_tokens: int,
    extra_bytes: float = 0.0,
    extra_hours: float = 0.0,
    label: str = "prompting",
) -> Estimate:
    """Memory and time to answer `n_queries` prompts (prompting, or the generation side of RAG)."""
    on_gpu = hardware.on_gpu
    dtype: Dtype = "bf16" if on_gpu else "fp32"
    devices = hardware.gpu_count if on_gpu and hardware.gpu_count > 1 else 1
    weights = spec.n_params() * bytes_per_param(dtype) / devices  # split layer-wise across GPUs
    kv_cache = 2 * spec.num_layers * spec.kv_heads * spec.attention_head_dim * (prompt_tokens + new_tokens)
    memory = Memory(
        weights, 0.0, 0.0, kv_cache * bytes_per_param(dtype) + extra_bytes, GPU_OVERHEAD_BYTES if on_gpu else 0.0
    )
    flops = 2 * spec.n_params() * n_queries * (prompt_tokens + new_tokens)
    hours = flops / hardware.flops_per_second / 3600 + extra_hours
    cost = hours * hardware.gpu_count * hardware.price_per_gpu_hour if on_gpu else 0.0
    fits = memory.total <= hardware.device_memory_bytes
    return Estimate(label, spec.name, dtype, hardware.describe(), spec.n_params(), 0, memory, 0, 0.0, hours, cost, fits)
