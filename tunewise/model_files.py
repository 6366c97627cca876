"""Checks on a model folder's files, made before anything loads from it.

transformers, peft and sentence-transformers report a broken folder late (after seconds of
loading), in messages many lines long, or by asking on stdin whether to run Python code the
folder ships. Everything here reads only small JSON files and file headers, so a folder that
cannot load is refused at once with one line that names the file and says what to do.

The same rule holds for every loader: a folder that asks to run its own code is refused unless
the user passed `--trust-remote-code` (`tunewise.trust.trust_remote_code`).
"""

from __future__ import annotations

import contextlib
import json
import math
import mmap
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tunewise.errors import ModelError, TunewiseError, listing
from tunewise.loading import LOADING
from tunewise.trust import trust_remote_code

# The files a Hugging Face folder's weights live in; the indexes name sharded ones.
WEIGHT_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
# The JSON files whose `auto_map` makes transformers import Python files from the folder.
CODE_MAP_FILES = ("config.json", "tokenizer_config.json")
SAFETENSORS_MAX_HEADER = 100_000_000  # the safetensors format's own limit
REPLACE_HINT = "replace it with a good copy (download or copy the model again, or train the run that wrote it again)"


# ---------------------------------------------------------------------------- JSON files


def read_json(path: Path, fix: str = REPLACE_HINT) -> Any:
    """Parse a JSON file of a model or run folder; a one-line `ModelError` naming it when it is damaged."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{path}: not a text file ({exc.reason} at byte {exc.start}); {fix}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); {fix}") from exc


def read_json_object(path: Path, fix: str = REPLACE_HINT) -> dict[str, Any]:
    """`read_json` for files that must hold one JSON object (configs)."""
    value = read_json(path, fix)
    if not isinstance(value, dict):
        raise ModelError(f"{path}: holds a JSON {type(value).__name__}, not the object of settings it should; {fix}")
    return value


def _optional_object(path: Path) -> dict[str, Any] | None:
    return read_json_object(path) if path.is_file() else None


# ---------------------------------------------------------------------------- code in the folder


def check_no_custom_code(folder: Path) -> None:
    """Refuse a folder that would make transformers or sentence-transformers import its own Python code.

    Loading such a folder means running whatever its `.py` files do; that happens only when the
    user passed `--trust-remote-code`.
    """
    if trust_remote_code():
        return
    request = next(custom_code_requests(folder), None)
    if request is not None:
        source, what = request
        raise ModelError(
            f"{source}: asks to run custom code ({what}); tunewise does not run code from model folders unless "
            "you pass --trust-remote-code"
        )


def custom_code_requests(folder: Path) -> Iterator[tuple[Path, str]]:
    """Each file of `folder` that asks a loader to import code, with what it asks for."""
    yield from _auto_map_requests(folder)
    modules_path = folder / "modules.json"
    if not modules_path.is_file():
        return
    for module_type, module_folder in _sentence_transformer_modules(folder):
        if not module_type.startswith("sentence_transformers."):
            # sentence-transformers imports any other class path, from the folder or from installed packages.
            yield modules_path, f"module type {module_type}"
        if module_folder != folder:
            yield from _auto_map_requests(module_folder)
            yield from _activation_requests(module_folder)


def _auto_map_requests(folder: Path) -> Iterator[tuple[Path, str]]:
    for name in CODE_MAP_FILES:
        config = _optional_object(folder / name)
        if config and config.get("auto_map"):
            yield folder / name, f"auto_map: {listing(_code_targets(config['auto_map']), limit=3)}"


def _activation_requests(folder: Path) -> Iterator[tuple[Path, str]]:
    """A sentence-transformers Dense layer imports its activation function by name; only torch's are plain data."""
    config = _optional_object(folder / "config.json")
    activation = (config or {}).get("activation_function")
    if isinstance(activation, str) and not activation.startswith("torch."):
        yield folder / "config.json", f"activation_function {activation}"


def _code_targets(auto_map: Any) -> list[str]:
    """The class paths an `auto_map` names: a dict of strings or [slow, fast] pairs, or a legacy list."""
    values = auto_map.values() if isinstance(auto_map, dict) else auto_map if isinstance(auto_map, list) else [auto_map]
    targets: list[str] = []
    for value in values:
        for target in value if isinstance(value, list | tuple) else [value]:
            if target and str(target) not in targets:
                targets.append(str(target))
    return targets


def _sentence_transformer_modules(folder: Path) -> list[tuple[str, Path]]:
    """The (class path, folder) of each module `modules.json` lists."""
    path = folder / "modules.json"
    modules = read_json(path)
    fix = "it should list the model's modules as objects with `type` and `path`; " + REPLACE_HINT
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ModelError(f"{path}: not a list of modules; {fix}")
    return [(str(m.get("type", "")), folder / str(m.get("path") or "")) for m in modules]


def sentence_transformer_backbone(folder: Path) -> Path:
    """The folder whose config and weights a sentence-transformers model's Transformer module loads."""
    if not (folder / "modules.json").is_file():
        return folder  # a plain Hugging Face folder: sentence-transformers adds mean pooling itself
    for module_type, module_folder in _sentence_transformer_modules(folder):
        if module_type.endswith(".Transformer"):
            return module_folder
    return folder


# ---------------------------------------------------------------------------- config and weights


def check_model_folder(folder: Path, *, weights: bool = True) -> dict[str, Any]:
    """Refuse a Hugging Face model folder that cannot load, from its files alone; return its config.

    Checked in the order a user fixes them: a readable `config.json`, no request to run code,
    a `model_type` this transformers knows, and (with `weights`) weight files that are complete.
    """
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise ModelError(f"{folder}: holds no config.json, so it is not a Hugging Face model folder")
    config = read_json_object(config_path)
    check_no_custom_code(folder)
    model_type = config.get("model_type")
    if isinstance(model_type, str) and not (trust_remote_code() and config.get("auto_map")):
        _check_model_type(config_path, model_type)
    if weights:
        check_weights(folder)
    return config


def check_loadable(folder: Path) -> None:
    """`check_model_folder` for a folder that may be a sentence-transformers model as well as a plain one.

    Its `modules.json` and each module's folder can ask for code too, and the backbone that holds
    the config and weights can sit in a subfolder.
    """
    check_no_custom_code(folder)
    check_model_folder(sentence_transformer_backbone(folder))


def _check_model_type(config_path: Path, model_type: str) -> None:
    import transformers
    from transformers.models.auto.configuration_auto import CONFIG_MAPPING

    if model_type not in CONFIG_MAPPING:
        raise ModelError(
            f"{config_path}: model_type '{model_type}' is not an architecture transformers {transformers.__version__} "
            "knows; check the model_type in the file, or upgrade transformers (pip install -U transformers)"
        )


def check_weights(folder: Path) -> None:
    """The folder holds weights, every shard its index names exists, and no safetensors file is cut short."""
    present = [name for name in WEIGHT_FILES if (folder / name).is_file()]
    if not present:
        raise ModelError(
            f"{folder}: holds no model weights (model.safetensors or pytorch_model.bin); copy the weights into it, "
            "or give the folder that has them"
        )
    for name in present:
        if name.endswith(".index.json"):
            _check_shards(folder / name)
    for path in sorted(folder.glob("*.safetensors")):
        safetensors_shapes(path)


def _check_shards(index_path: Path) -> None:
    index = read_json_object(index_path)
    weight_map = index.get("weight_map")
    if not isinstance(weight_map, dict):
        raise ModelError(f"{index_path}: has no weight_map naming the weight shards; {REPLACE_HINT}")
    missing = sorted({str(shard) for shard in weight_map.values() if not (index_path.parent / str(shard)).is_file()})
    if missing:
        raise ModelError(
            f"{index_path}: names weight shards that are missing: {listing(missing, limit=3)}; copy them in"
        )


def safetensors_shapes(path: Path) -> dict[str, list[int]]:
    """Each tensor's shape in a safetensors file, read from its header; `ModelError` for a damaged or cut-short file.

    The header records where every tensor's bytes end, so a truncated copy shows without reading the tensors.
    """
    size = path.stat().st_size
    damaged = f"{path}: damaged or truncated safetensors file"
    with open(path, "rb") as handle:
        prefix = handle.read(8)
        length = int.from_bytes(prefix, "little") if len(prefix) == 8 else -1
        if length < 2 or length > min(size - 8, SAFETENSORS_MAX_HEADER):
            raise ModelError(f"{damaged} ({size:,} bytes, too short for the header it announces); {REPLACE_HINT}")
        raw = handle.read(length)
    try:
        header = json.loads(raw)
        tensors = {name: entry for name, entry in header.items() if name != "__metadata__"}
        shapes = {name: [int(n) for n in entry["shape"]] for name, entry in tensors.items()}
        end = max((int(entry["data_offsets"][1]) for entry in tensors.values()), default=0)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise ModelError(f"{damaged} (its header cannot be read: {exc}); {REPLACE_HINT}") from exc
    expected = 8 + length + end
    if size != expected:
        raise ModelError(f"{damaged} ({size:,} bytes where its header describes {expected:,}); {REPLACE_HINT}")
    return shapes


def weight_shapes(folder: Path) -> dict[str, list[int]] | None:
    """Every weight's shape in a model folder, from safetensors headers; None when its weights are not safetensors."""
    single = folder / "model.safetensors"
    if single.is_file():
        return safetensors_shapes(single)
    index = folder / "model.safetensors.index.json"
    if not index.is_file():
        return None
    shapes: dict[str, list[int]] = {}
    for shard in sorted({str(s) for s in read_json_object(index).get("weight_map", {}).values()}):
        shapes |= safetensors_shapes(folder / shard)
    return shapes


# ---------------------------------------------------------------------------- GGUF


def check_gguf(path: Path) -> None:
    """Refuse a file that is not a complete GGUF model before the half-minute conversion starts.

    Walks the header (metadata and tensor table) and checks that the file holds every tensor's
    bytes: a cut-short download shows in well under a second, without reading the tensors.
    """
    size = path.stat().st_size
    with open(path, "rb") as handle:
        magic = handle.read(4)
    if magic != b"GGUF":
        raise ModelError(
            f"{path}: not a GGUF file (it does not start with the GGUF magic bytes); give a .gguf model file or a "
            "Hugging Face model folder"
        )
    try:
        expected = _gguf_expected_size(path)
    except (struct.error, ValueError, KeyError, OverflowError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{path}: damaged or truncated GGUF file (its header cannot be read: {exc}); {GGUF_FIX}"
        ) from exc
    if size < expected:
        raise ModelError(
            f"{path}: damaged or truncated GGUF file ({size:,} bytes where its header describes {expected:,}); {GGUF_FIX}"
        )


GGUF_FIX = "download or copy it again"
# GGUF metadata value types (by number) of fixed size, as struct formats; 8 is a string, 9 an array.
_GGUF_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_GGUF_STRING, _GGUF_ARRAY = 8, 9


class _GGUFHeader:
    """A cursor over a GGUF file's header, in the file's byte order."""

    def __init__(self, data: bytes | mmap.mmap) -> None:
        self.data = data
        self.pos = 8  # after the magic and the version
        self._need(0)
        version = struct.unpack_from("<I", data, 4)[0]
        # A big-endian file's version reads as a huge number in little-endian order.
        self.order = "<" if version < 0x10000 else ">"

    def read(self, fmt: str) -> Any:
        self._need(struct.calcsize(fmt))
        value = struct.unpack_from(self.order + fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        length = self.read("Q")
        self._need(length)
        text = bytes(self.data[self.pos : self.pos + length]).decode("utf-8")
        self.pos += length
        return text

    def _need(self, count: int) -> None:
        if self.pos + count > len(self.data):
            raise ValueError(f"it is cut short: the file ends at byte {len(self.data):,}, inside the header")

    def value(self, kind: int) -> Any:
        if kind == _GGUF_STRING:
            return self.string()
        if kind == _GGUF_ARRAY:
            item_kind, count = self.read("I"), self.read("Q")
            if item_kind in _GGUF_SCALARS:  # skipped whole: a vocabulary's scores need not be decoded
                self._need(count * struct.calcsize(_GGUF_SCALARS[item_kind]))
                self.pos += count * struct.calcsize(_GGUF_SCALARS[item_kind])
                return None
            for _ in range(count):
                self.value(item_kind)
            return None
        if kind not in _GGUF_SCALARS:
            raise ValueError(f"unknown metadata type {kind} at byte {self.pos:,}")
        return self.read(_GGUF_SCALARS[kind])


def _gguf_expected_size(path: Path) -> int:
    """The size a GGUF file must have at least: where its last tensor's bytes end."""
    from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType

    with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        header = _GGUFHeader(data)
        tensor_count, kv_count = header.read("Q"), header.read("Q")
        alignment = 32
        for _ in range(kv_count):
            key = header.string()
            value = header.value(header.read("I"))
            if key == "general.alignment" and isinstance(value, int) and value > 0:
                alignment = value
        end = 0
        for _ in range(tensor_count):
            header.string()
            dims = [header.read("Q") for _ in range(header.read("I"))]
            block, block_bytes = GGML_QUANT_SIZES[GGMLQuantizationType(header.read("I"))]
            elements = math.prod(dims)
            end = max(end, header.read("Q") + elements // block * block_bytes)
        start = -(-header.pos // alignment) * alignment
        return start + end


# ---------------------------------------------------------------------------- what loaders raise


def first_line(exc: BaseException) -> str:
    """An exception's message cut to its first non-empty line (libraries write whole paragraphs)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


@contextlib.contextmanager
def load_errors(folder: Path) -> Iterator[None]:
    """Turn what transformers, peft and safetensors raise for a broken folder into one-line `ModelError`s.

    The checks above catch most problems before loading; these are the ones only loading shows
    (pickled weights torch will not unpickle, weights of the wrong shape). Anything else stays a
    bug and propagates unchanged.

    Loads also take turns (`tunewise.loading.LOADING`): two threads loading at once can break each
    other's models.
    """
    try:
        with LOADING:
            yield
    except TunewiseError:
        raise
    except Exception as exc:
        message = _load_error_message(exc, folder)
        if message is None:
            raise
        raise ModelError(message) from exc


def _load_error_message(exc: Exception, folder: Path) -> str | None:
    text = str(exc)
    if "trust_remote_code" in text:
        return (
            f"{folder}: asks to run custom code ({first_line(exc)}); tunewise does not run code from model folders "
            "unless you pass --trust-remote-code"
        )
    if "Weights only load failed" in text or type(exc).__name__ == "UnpicklingError":
        candidates = [*sorted(folder.glob("pytorch_model*.bin")), *sorted(folder.glob("adapter_model*.bin"))]
        pickled = candidates[0] if candidates else folder
        return (
            f"{pickled}: pickled weights that hold more than tensors, which torch refuses to unpickle safely; "
            "use a safetensors copy of the model, or convert the weights where you trust their source"
        )
    if type(exc).__name__ == "SafetensorError":
        return f"{folder}: damaged weights ({first_line(exc)}); {REPLACE_HINT}"
    if isinstance(exc, OSError) and "no file named" in text:
        return f"{folder}: holds no model weights ({first_line(exc)}); copy the weights into it"
    if isinstance(exc, ValueError) and ("does not recognize this architecture" in text or "Unrecognized model" in text):
        return f"{folder}: transformers does not know this model ({first_line(exc)}); upgrade transformers"
    if isinstance(exc, RuntimeError) and "size mismatch" in text:
        mismatch = next((line.strip() for line in text.splitlines() if "size mismatch" in line), first_line(exc))
        return f"{folder}: saved weights do not fit the model they load into ({mismatch}); {REPLACE_HINT}"
    if type(exc).__name__ == "NoMatchingPeftModuleError":
        return f"{folder}: the adapter fits no layer of its base model ({first_line(exc)}); check its base model"
    return None
