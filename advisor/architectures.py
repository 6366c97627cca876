"""Model shapes for estimates, without loading any weights.

A `ModelSpec` comes from a model's `config.json`, from the table of well-known architectures
below, or from a bare parameter count (scaled from the nearest known shape). Parameter counts
are computed from the shape, so they can be checked against published figures.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from tunewise.errors import ConfigError

Kind = Literal["encoder", "causal-lm"]

# Linear layers of one transformer block, by role. LoRA target modules are matched to these
# roles whatever a library calls them (q_proj, query, Wq, c_attn...).
ROLES = ("q", "k", "v", "o", "gate", "up", "down")
MODULE_ROLES: dict[str, tuple[str, ...]] = {
    "q": ("q", "q_proj", "query", "wq", "q_lin"),
    "k": ("k", "k_proj", "key", "wk", "k_lin"),
    "v": ("v", "v_proj", "value", "wv", "v_lin"),
    "o": ("o", "o_proj", "out_proj", "wo", "attention.output.dense", "out_lin", "dense_attn"),
    "gate": ("gate", "gate_proj", "w1"),
    "up": ("up", "up_proj", "fc1", "c_fc", "intermediate.dense", "w3", "lin1"),
    "down": ("down", "down_proj", "fc2", "output.dense", "w2", "lin2", "mlp.c_proj"),
}


@dataclass(frozen=True)
class ModelSpec:
    """The shape of a transformer, enough to count parameters and activations."""

    name: str
    kind: Kind
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    vocab_size: int
    num_kv_heads: int | None = None  # grouped-query attention; None means num_heads
    head_dim: int | None = None  # None means hidden_size // num_heads
    gated_mlp: bool = False  # SwiGLU-style MLP with gate, up and down projections
    tied_embeddings: bool = False
    max_position: int = 2048
    learned_positions: bool = False  # BERT and GPT-2 learn a position embedding table
    bias: bool = False  # linear layers carry biases (BERT, GPT-2)
    qkv_bias: bool = False  # only the attention inputs carry biases (Qwen2)
    norms_per_layer: int = 2
    norm_bias: bool = False  # LayerNorm (weight and bias) rather than RMSNorm (weight)
    type_vocab_size: int = 0  # BERT's segment embeddings
    pooler: bool = False  # BERT's pooler layer
    attention_dropout: bool = False  # dropout on attention probabilities while training (BERT, GPT-2)
    module_names: dict[str, str] | None = None  # role -> the name the library uses

    @property
    def kv_heads(self) -> int:
        return self.num_kv_heads or self.num_heads

    @property
    def attention_head_dim(self) -> int:
        return self.head_dim or self.hidden_size // self.num_heads

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) features of each linear layer of one block, by role."""
        h, f = self.hidden_size, self.intermediate_size
        q_out = self.num_heads * self.attention_head_dim
        kv_out = self.kv_heads * self.attention_head_dim
        shapes = {"q": (h, q_out), "k": (h, kv_out), "v": (h, kv_out), "o": (q_out, h), "up": (h, f), "down": (f, h)}
        if self.gated_mlp:
            shapes["gate"] = (h, f)
        return shapes

    def block_linear_params(self) -> int:
        return sum(i * o for i, o in self.linear_shapes().values())

    def embedding_params(self) -> int:
        h = self.hidden_size
        count = self.vocab_size * h + self.type_vocab_size * h
        if self.learned_positions:
            count += self.max_position * h
        return count

    def n_params(self) -> int:
        """Every parameter: embeddings, blocks (with biases and norms), final norm, head."""
        h = self.hidden_size
        norm = h * (2 if self.norm_bias else 1)
        per_block = self.block_linear_params() + self.norms_per_layer * norm
        shapes = self.linear_shapes()
        if self.bias:
            per_block += sum(out for _, out in shapes.values())
        elif self.qkv_bias:
            per_block += sum(shapes[r][1] for r in ("q", "k", "v"))
        total = self.embedding_params() + self.num_layers * per_block
        if self.kind == "causal-lm":
            total += norm  # the final norm
            if not self.tied_embeddings:
                total += self.vocab_size * h
        else:
            total += norm  # the embedding LayerNorm
            if self.pooler:
                total += h * h + h
        return total

    def quantizable_params(self) -> int:
        """Parameters inside the blocks' linear layers: what 4-bit quantization compresses."""
        return self.num_layers * self.block_linear_params()

    def resolve_targets(self, targets: list[str] | str) -> list[str]:
        """Map LoRA `target_modules` (any naming, or "all-linear") to block roles."""
        available = list(self.linear_shapes())
        if isinstance(targets, str):
            if targets == "all-linear":
                return available
            targets = [targets]
        roles: list[str] = []
        for target in targets:
            key = target.lower().rsplit(".", 1)[-1] if target.lower() not in _ALL_NAMES else target.lower()
            role = _ROLE_OF.get(target.lower()) or _ROLE_OF.get(key)
            if role is None:
                if target.lower() in {"c_attn", "qkv_proj", "wqkv", "query_key_value"}:
                    roles.extend(r for r in ("q", "k", "v") if r not in roles)
                    continue
                raise ConfigError(
                    f"target_modules: '{target}' is not a linear layer of {self.name}; "
                    f"use names such as {', '.join(self.default_module_names())} or all-linear"
                )
            if role in available and role not in roles:
                roles.append(role)
        return roles

    def default_module_names(self) -> list[str]:
        names = self.module_names or {}
        return [names.get(role, role) for role in self.linear_shapes()]


_ROLE_OF = {name: role for role, names in MODULE_ROLES.items() for name in names}
_ALL_NAMES = set(_ROLE_OF)

LLAMA_NAMES = {r: f"{r}_proj" for r in ROLES}
BERT_NAMES = {
    "q": "query",
    "k": "key",
    "v": "value",
    "o": "attention.output.dense",
    "up": "intermediate.dense",
    "down": "output.dense",
}


def _llama(name: str, layers: int, hidden: int, heads: int, inter: int, vocab: int, **kw: Any) -> ModelSpec:
    return ModelSpec(
        name, "causal-lm", hidden, layers, heads, inter, vocab, gated_mlp=True, module_names=LLAMA_NAMES, **kw
    )


def _bert(name: str, layers: int, hidden: int, heads: int, vocab: int, **kw: Any) -> ModelSpec:
    """A BERT-style encoder; keyword arguments override the BERT defaults."""
    shape: dict[str, Any] = {
        "max_position": 512,
        "learned_positions": True,
        "bias": True,
        "norm_bias": True,
        "type_vocab_size": 2,
        "pooler": True,
        "attention_dropout": True,
        "module_names": BERT_NAMES,
    } | kw
    intermediate = shape.pop("intermediate_size", 4 * hidden)
    return ModelSpec(name, "encoder", hidden, layers, heads, intermediate, vocab, **shape)


def _gpt(name: str, layers: int, hidden: int, heads: int, vocab: int = 50257, ctx: int = 2048) -> ModelSpec:
    return ModelSpec(
        name,
        "causal-lm",
        hidden,
        layers,
        heads,
        4 * hidden,
        vocab,
        max_position=ctx,
        learned_positions=True,
        bias=True,
        norm_bias=True,
        tied_embeddings=True,
        attention_dropout=True,
        module_names={"q": "Wq", "k": "Wk", "v": "Wv", "o": "Wo", "up": "c_fc", "down": "mlp.c_proj"},
    )


# Well-known shapes, from the models' published configs and papers.
KNOWN: dict[str, ModelSpec] = {
    s.name: s
    for s in (
        _bert("minilm-l6", 6, 384, 12, 30522, intermediate_size=1536),
        _bert("bert-base-uncased", 12, 768, 12, 30522),
        _bert("bert-base-cased", 12, 768, 12, 28996),
        _bert("bert-large-uncased", 24, 1024, 16, 30522),
        replace(_bert("roberta-base", 12, 768, 12, 50265), max_position=514, type_vocab_size=1, pooler=False),
        _gpt("gpt2", 12, 768, 12, ctx=1024),
        _gpt("gpt2-medium", 24, 1024, 16, ctx=1024),
        _gpt("gpt3-175b", 96, 12288, 96),
        _llama(
            "smollm2-135m-instruct", 30, 576, 9, 1536, 49152, num_kv_heads=3, tied_embeddings=True, max_position=8192
        ),
        _llama("smollm2-360m", 32, 960, 15, 2560, 49152, num_kv_heads=5, tied_embeddings=True, max_position=8192),
        _llama("smollm2-1.7b", 24, 2048, 32, 8192, 49152, tied_embeddings=True, max_position=8192),
        _llama(
            "qwen2.5-0.5b",
            24,
            896,
            14,
            4864,
            151936,
            num_kv_heads=2,
            tied_embeddings=True,
            qkv_bias=True,
            max_position=32768,
        ),
        _llama(
            "qwen2.5-1.5b",
            28,
            1536,
            12,
            8960,
            151936,
            num_kv_heads=2,
            tied_embeddings=True,
            qkv_bias=True,
            max_position=32768,
        ),
        _llama("qwen2.5-7b", 28, 3584, 28, 18944, 152064, num_kv_heads=4, qkv_bias=True, max_position=32768),
        _llama("llama-2-7b", 32, 4096, 32, 11008, 32000, max_position=4096),
        _llama("llama-2-13b", 40, 5120, 40, 13824, 32000, max_position=4096),
        _llama("llama-2-70b", 80, 8192, 64, 28672, 32000, num_kv_heads=8, max_position=4096),
        _llama("llama-65b", 80, 8192, 64, 22016, 32000),
        _llama("llama-3-8b", 32, 4096, 32, 14336, 128256, num_kv_heads=8, max_position=8192),
        _llama("llama-3-70b", 80, 8192, 64, 28672, 128256, num_kv_heads=8, max_position=8192),
        _llama("mistral-7b", 32, 4096, 32, 14336, 32000, num_kv_heads=8, max_position=32768),
    )
}
# Other names people use for the same shapes (hub ids, lower-cased, owner dropped).
ALIASES = {
    "all-minilm-l6-v2": "minilm-l6",
    "smollm2-135m": "smollm2-135m-instruct",
    "llama-2-7b-hf": "llama-2-7b",
    "llama-2-7b-chat-hf": "llama-2-7b",
    "llama-2-13b-hf": "llama-2-13b",
    "llama-2-70b-hf": "llama-2-70b",
    "meta-llama-3-8b": "llama-3-8b",
    "meta-llama-3-8b-instruct": "llama-3-8b",
    "llama-3.1-8b": "llama-3-8b",
    "llama-3.1-8b-instruct": "llama-3-8b",
    "mistral-7b-v0.1": "mistral-7b",
    "mistral-7b-instruct-v0.2": "mistral-7b",
    "qwen2.5-0.5b-instruct": "qwen2.5-0.5b",
    "qwen2.5-1.5b-instruct": "qwen2.5-1.5b",
    "qwen2.5-7b-instruct": "qwen2.5-7b",
    "gpt3": "gpt3-175b",
    "gpt-3": "gpt3-175b",
}


def known_spec(name: str) -> ModelSpec | None:
    """The table's shape for a name or hub id, if it is a well-known one."""
    key = name.strip().lower().rsplit("/", 1)[-1]
    key = ALIASES.get(key, key)
    return KNOWN.get(key)


# Both commands size models, with different flags for a bare parameter count.
SIZE_HINT = "give its size instead: model_params (--model-params 7e9) for recommend, --params 7e9 for estimate"

CAUSAL_TYPES = {"llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "phi3", "gpt2", "gpt_neox", "olmo", "smollm3"}


def spec_from_config(config: dict[str, Any], name: str) -> ModelSpec:
    """Read a Hugging Face `config.json` into a `ModelSpec`."""
    model_type = str(config.get("model_type", ""))
    architectures = " ".join(config.get("architectures") or [])
    try:
        hidden = int(config.get("hidden_size") or config["n_embd"])
        layers = int(config.get("num_hidden_layers") or config["n_layer"])
        heads = int(config.get("num_attention_heads") or config["n_head"])
        vocab = int(config["vocab_size"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: config.json lacks the sizes needed for an estimate ({exc}); {SIZE_HINT}") from exc
    inter = int(config.get("intermediate_size") or config.get("n_inner") or 4 * hidden)
    dropout_keys = ("attention_probs_dropout_prob", "attn_pdrop", "attention_dropout")
    attention_dropout = any(float(config.get(k) or 0) > 0 for k in dropout_keys)
    causal = "CausalLM" in architectures or model_type in CAUSAL_TYPES
    if model_type in {"bert", "roberta", "xlm-roberta", "distilbert", "electra", "deberta-v2", "mpnet"} or not causal:
        return _bert(
            name,
            layers,
            hidden,
            heads,
            vocab,
            intermediate_size=inter,
            max_position=int(config.get("max_position_embeddings", 512)),
            type_vocab_size=int(config.get("type_vocab_size", 0) or 0),
            pooler=model_type == "bert",
            attention_dropout=attention_dropout,
        )
    gpt2_like = model_type in {"gpt2", "gpt_neox"}
    return ModelSpec(
        name,
        "causal-lm",
        hidden,
        layers,
        heads,
        inter,
        vocab,
        num_kv_heads=config.get("num_key_value_heads"),
        head_dim=config.get("head_dim"),
        gated_mlp=not gpt2_like,
        tied_embeddings=bool(config.get("tie_word_embeddings", gpt2_like)),
        max_position=int(config.get("max_position_embeddings") or config.get("n_positions") or 2048),
        learned_positions=gpt2_like,
        bias=gpt2_like or bool(config.get("mlp_bias")),
        qkv_bias=bool(config.get("attention_bias")) or model_type == "qwen2",
        norm_bias=gpt2_like,
        attention_dropout=attention_dropout,
        module_names=None if gpt2_like else LLAMA_NAMES,
    )


def spec_from_params(n_params: float, kind: Kind = "causal-lm") -> ModelSpec:
    """A plausible shape for a bare parameter count: the nearest known shape, widened or narrowed."""
    if not math.isfinite(n_params) or n_params <= 0:
        raise ConfigError(f"model_params must be a positive number such as 7e9, got {n_params}")
    candidates = [s for s in KNOWN.values() if s.kind == kind and s.name != "gpt3-175b"] or list(KNOWN.values())
    nearest = min(candidates, key=lambda s: abs(math.log(s.n_params() / n_params)))
    # Block parameters grow with the square of the width; solve for the width that fits.
    scale = math.sqrt(n_params / nearest.n_params())
    heads = max(1, round(nearest.num_heads * scale))
    head_dim = nearest.attention_head_dim
    hidden = heads * head_dim
    kv_ratio = nearest.num_heads // nearest.kv_heads
    spec = replace(
        nearest,
        name=f"{_human(n_params)} parameters (shaped like {nearest.name})",
        hidden_size=hidden,
        num_heads=heads,
        num_kv_heads=max(1, heads // kv_ratio) if nearest.num_kv_heads else None,
        head_dim=None,
        intermediate_size=round(nearest.intermediate_size * hidden / nearest.hidden_size / 64) * 64 or 64,
    )
    return spec


def _human(n: float) -> str:
    for unit, size in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def read_config(folder: Path) -> dict[str, Any] | None:
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return config if isinstance(config, dict) else None


_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)


def parse_param_count(value: str | float | int) -> float:
    """Accept 7e9, 7000000000, "7B", "135M"."""
    if isinstance(value, int | float):
        return float(value)
    match = _PARAMS.match(value)
    if match:
        number, unit = match.groups()
        return float(number) * {"": 1, "k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}[unit.lower()]
    try:
        return float(value)
    except ValueError as exc:
        raise ConfigError(f"model_params: '{value}' is not a number; write e.g. 7e9 or 7B") from exc


def _hub_cache_root() -> Path:
    import os

    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"]).expanduser()
    home = Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")).expanduser()
    return home / "hub"


def _cached_hub_config(repo_id: str) -> dict[str, Any] | None:
    """config.json of `repo_id` from the local Hugging Face cache, read without huggingface_hub."""
    repo = _hub_cache_root() / f"models--{repo_id.replace('/', '--')}"
    ref = repo / "refs" / "main"
    snapshots = (
        [repo / "snapshots" / ref.read_text().strip()] if ref.is_file() else sorted((repo / "snapshots").glob("*"))
    )
    for snapshot in snapshots:
        config = read_config(snapshot)
        if config is not None:
            return config
    return None


def spec_for(name: str) -> ModelSpec:
    """The shape of a named model, from local files only: never downloads, never imports torch."""
    known = known_spec(name)
    path = Path(name).expanduser()
    if path.is_dir():
        config = read_config(path)
        if config is None:
            raise ConfigError(f"model folder {name} holds no readable config.json; {SIZE_HINT}")
        return spec_from_config(config, name)
    if known is not None:
        return known
    if "/" in name:
        config = _cached_hub_config(name)
        if config is not None:
            return spec_from_config(config, name)
    raise ConfigError(
        f"cannot size model '{name}' offline: it is not a local folder, not in the Hugging Face cache and not a "
        f"well-known architecture; {SIZE_HINT}, or run `tunewise models prepare` first"
    )
