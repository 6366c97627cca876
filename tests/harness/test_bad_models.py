"""Broken model folders, run folders, GGUF files and --device values: one line naming the file or flag, exit 2.

The run folders are damaged copies of two tiny real training runs (full and LoRA), made once for
the module; the model folders are damaged copies of the built-in minilm-l6 files.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tunewise import trust
from tunewise.model_files import safetensors_shapes
from tunewise.models import BUILTIN_MODELS, package_dir, resolve_model

MINILM_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


@dataclass(frozen=True)
class Sources:
    """What every case copies and damages: two finished runs, the chat model's folder, and its GGUF file."""

    full: Path
    lora: Path
    data: Path
    causal_lm: Path  # a folder of another architecture than the runs' base
    gguf: Path


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory, smollm2: Path) -> Sources:
    from harness.config import build_config
    from harness.train import train

    root = tmp_path_factory.mktemp("runs")
    data = root / "meals.csv"
    good = ["wonderful", "great", "lovely", "excellent"]
    bad = ["awful", "terrible", "horrible", "dreadful"]
    rows = [
        f'"the meal was {w}, visit {i}",{label}'
        for i in range(4)
        for ws, label in ((good, "positive"), (bad, "negative"))
        for w in ws
    ]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    runs = {}
    for method in ("full", "lora"):
        config = build_config({"data": str(data), "output_dir": str(root / method), "method": method, "max_steps": 2})
        runs[method] = train(config).run_dir
    package = package_dir(BUILTIN_MODELS["smollm2-135m-instruct"])
    assert package is not None
    gguf = package / str(BUILTIN_MODELS["smollm2-135m-instruct"].gguf_file)
    return Sources(runs["full"], runs["lora"], data, smollm2, gguf)


# ---------------------------------------------------------------------------- ways to break things


def _replace(path: Path, content: bytes | str) -> None:
    """Write new content in place of a (possibly hard-linked) file, leaving the original untouched."""
    path.unlink(missing_ok=True)
    path.write_bytes(content.encode() if isinstance(content, str) else content)


def _truncate(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(path.stat().st_size // 3)
    _replace(path, head)


def _edit_json(path: Path, **changes: object) -> None:
    _replace(path, json.dumps(json.loads(path.read_text()) | changes))


def _model_folder(root: Path) -> Path:
    """A real minilm-l6 classifier folder (its weights linked, not copied)."""
    source = resolve_model("minilm-l6").path
    folder = root / "model"
    folder.mkdir()
    for name in MINILM_FILES:
        shutil.copy(source / name, folder / name)
    (folder / "model.safetensors").symlink_to(source / "model.safetensors")
    _edit_json(folder / "config.json", architectures=["BertForSequenceClassification"])
    return folder


def _no_weights(folder: Path) -> None:
    (folder / "model.safetensors").unlink()


def _unknown_model_type(folder: Path) -> None:
    _edit_json(folder / "config.json", model_type="frobnicator")


def _corrupt_config(folder: Path) -> None:
    _replace(folder / "config.json", '{"model_type": "bert", "hidden_size": 384,')


def _pickled_weights(folder: Path) -> None:
    """A pytorch_model.bin whose pickle names a class: torch's safe unpickler refuses it."""
    import torch

    (folder / "model.safetensors").unlink()
    torch.save({"classifier.weight": Path("/etc/passwd")}, folder / "pytorch_model.bin")


def _run_copy(run: Path, root: Path) -> Path:
    """A copy of a finished run whose files are hard links: damage goes through `_replace`."""
    copy = root / run.name
    shutil.copytree(run, copy, copy_function=os.link)
    return copy


# ---------------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Case:
    make: Callable[[Sources, Path], Path]  # builds the broken thing under the test's folder, returns it
    args: Callable[[Path, Sources, Path], list[str]]  # the command, given the broken thing and an output path
    names: str  # what the one line must name, relative to the broken thing (or a flag)
    also: str = ""  # a later part of the line that tells this case from a similar one


def broken_model(damage: Callable[[Path], None]) -> Callable[[Sources, Path], Path]:
    def make(sources: Sources, root: Path) -> Path:
        folder = _model_folder(root)
        damage(folder)
        return folder

    return make


def broken_run(method: str, file: str, damage: Callable[[Path], None]) -> Callable[[Sources, Path], Path]:
    def make(sources: Sources, root: Path) -> Path:
        run = _run_copy(sources.full if method == "full" else sources.lora, root)
        damage(run / "model" / file)
        return run

    return make


def train_on(thing: Path, sources: Sources, out: Path) -> list[str]:
    return [
        "train",
        "--quiet",
        "--set",
        f"base_model={thing}",
        "--set",
        f"data={sources.data}",
        "--set",
        f"output_dir={out}",
    ]


def predict_with(thing: Path, sources: Sources, out: Path) -> list[str]:
    return ["predict", str(thing), "the meal was great"]


def generate_with(thing: Path, sources: Sources, out: Path) -> list[str]:
    return ["generate", "--model", str(thing), "hello"]


def rag_build_with(thing: Path, sources: Sources, out: Path) -> list[str]:
    return ["rag", "build", str(sources.data), "--out", str(out), "--model", str(thing)]


def prepare(thing: Path, sources: Sources, out: Path) -> list[str]:
    return ["models", "prepare", str(thing)]


def on_device(device: str) -> Callable[[Path, Sources, Path], list[str]]:
    return lambda thing, sources, out: ["predict", str(thing), "the meal was great", "--device", device]


def adapter_on(base: Callable[[Sources], str]) -> Callable[[Sources, Path], Path]:
    """The LoRA run with its adapter pointed at another base model."""

    def make(sources: Sources, root: Path) -> Path:
        run = _run_copy(sources.lora, root)
        _edit_json(run / "model" / "adapter_config.json", base_model_name_or_path=base(sources))
        return run

    return make


def adapter_on_a_smaller_model(sources: Sources, root: Path) -> Path:
    """The LoRA run pointed at a model with the same layers as its base, each of another size."""
    import numpy as np
    from safetensors.numpy import save_file

    base = _model_folder(root)
    shapes = safetensors_shapes(base / "model.safetensors")
    (base / "model.safetensors").unlink()
    save_file(
        {name: np.zeros([2] * len(shape), np.float32) for name, shape in shapes.items()}, base / "model.safetensors"
    )
    run = _run_copy(sources.lora, root)
    _edit_json(run / "model" / "adapter_config.json", base_model_name_or_path=str(base))
    return run


def existing_run(method: str) -> Callable[[Sources, Path], Path]:
    return lambda sources, root: _run_copy(sources.full if method == "full" else sources.lora, root)


def bad_gguf(content: Callable[[Sources], bytes]) -> Callable[[Sources, Path], Path]:
    def make(sources: Sources, root: Path) -> Path:
        path = root / "model.gguf"
        path.write_bytes(content(sources))
        return path

    return make


def _gguf_head(sources: Sources) -> bytes:
    with open(sources.gguf, "rb") as handle:
        return handle.read(4_000_000)  # the header and the first tensors, not all of them


COMMANDS = {"train": train_on, "predict": predict_with, "generate": generate_with, "rag build": rag_build_with}
FOLDER_DAMAGE = {
    "no weights": (_no_weights, ": holds no model weights"),
    "unknown model_type": (_unknown_model_type, "config.json: model_type 'frobnicator'"),
    "corrupt config.json": (_corrupt_config, "config.json: not valid JSON"),
}
CASES: dict[str, Case] = {
    f"{damage_name} via {command}": Case(broken_model(damage), COMMANDS[command], names)
    for damage_name, (damage, names) in FOLDER_DAMAGE.items()
    for command in COMMANDS
}
CASES |= {
    "pickled .bin weights via predict": Case(
        broken_model(_pickled_weights), predict_with, "pytorch_model.bin: pickled"
    ),
    "--device banana": Case(existing_run("full"), on_device("banana"), "--device banana: not a device name"),
    "--device cuda without a GPU": Case(existing_run("full"), on_device("cuda"), "--device cuda: this machine has no"),
    "--device mps without one": Case(existing_run("lora"), on_device("mps"), "--device mps: this machine has no"),
}
for method in ("full", "lora"):
    CASES |= {
        f"{method}: labels.json not JSON": Case(
            broken_run(method, "labels.json", lambda p: _replace(p, "negative\npositive\n")),
            predict_with,
            "model/labels.json: not valid JSON",
        ),
        f"{method}: labels.json not a list": Case(
            broken_run(method, "labels.json", lambda p: _replace(p, '{"negative": 0, "positive": 1}')),
            predict_with,
            "model/labels.json: should hold the list of label names",
        ),
        f"{method}: labels.json of the wrong length": Case(
            broken_run(method, "labels.json", lambda p: _replace(p, '["negative", "neutral", "positive"]')),
            predict_with,
            "model/labels.json: lists 3 labels, but the model's classification head has 2 outputs",
        ),
    }
CASES |= {
    "full: truncated model.safetensors": Case(
        broken_run("full", "model.safetensors", _truncate),
        predict_with,
        "model/model.safetensors: damaged or truncated",
    ),
    "lora: truncated adapter_model.safetensors": Case(
        broken_run("lora", "adapter_model.safetensors", _truncate),
        predict_with,
        "model/adapter_model.safetensors: damaged or truncated",
    ),
    "lora: adapter_config.json not JSON": Case(
        broken_run("lora", "adapter_config.json", lambda p: _replace(p, '{"peft_type": "LORA", r: 16}')),
        predict_with,
        "model/adapter_config.json: not valid JSON",
    ),
    "lora: adapter_config.json without a base": Case(
        broken_run("lora", "adapter_config.json", lambda p: _edit_json(p, base_model_name_or_path=None)),
        predict_with,
        "model/adapter_config.json: base_model_name_or_path is missing",
    ),
    "lora: adapter onto the other built-in model": Case(
        adapter_on(lambda sources: "smollm2-135m-instruct"),
        predict_with,
        "model/adapter_config.json: the adapter does not fit its base model smollm2-135m-instruct: none of the",
    ),
    "lora: adapter onto a folder of another architecture": Case(
        adapter_on(lambda sources: str(sources.causal_lm)),
        predict_with,
        "model/adapter_config.json: the adapter does not fit its base model",
    ),
    "lora: adapter onto a model of another size": Case(
        adapter_on_a_smaller_model,
        predict_with,
        "model/adapter_config.json: the adapter does not fit its base model",
        "is 384x384 in the adapter but 2x2 in the base",
    ),
    "corrupt .gguf via models prepare": Case(
        bad_gguf(lambda s: b"GGUF" + b"\xff" * 64), prepare, ": damaged or truncated GGUF"
    ),
    "truncated .gguf via models prepare": Case(
        bad_gguf(_gguf_head), prepare, ": damaged or truncated GGUF file (4,000,000 bytes"
    ),
    "not a .gguf via generate": Case(bad_gguf(lambda s: b"<html>not found</html>"), generate_with, ": not a GGUF file"),
    "truncated .gguf via generate": Case(bad_gguf(_gguf_head), generate_with, ": damaged or truncated GGUF"),
}


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.lstat().st_size for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_broken_model_is_one_line_and_writes_nothing(
    case: Case, sources: Sources, tmp_path: Path, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    if "cuda" in str(case.names) and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    if "mps" in str(case.names) and torch.backends.mps.is_available():
        pytest.skip("this machine has Apple's MPS")
    monkeypatch.setattr(trust, "_trust_remote_code", False)
    thing = case.make(sources, tmp_path)
    if thing.suffix == ".gguf":
        monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path / "home"))  # where the file would be converted to
    out = tmp_path / "out"
    before = _files(tmp_path)
    result = cli(*case.args(thing, sources, out))
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tunewise: error: "), result.err
    named = (
        case.names if case.names.startswith("--") else f"{thing}{'/' if case.names[:1].isalpha() else ''}{case.names}"
    )
    assert named in lines[0] and case.also in lines[0], lines[0]
    assert "Traceback" not in result.err and result.out == ""
    assert _files(tmp_path) == before  # nothing written, not even a lock file
