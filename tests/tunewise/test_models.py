"""The model resolver: built-in aliases, local folders, hub ids, and the one-time conversion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.conftest import run_subprocess
from tunewise import models
from tunewise.errors import ModelError
from tunewise.models import BUILTIN_MODELS, list_models, prepare_model, resolve_model


def test_minilm_resolves_to_the_packaged_folder() -> None:
    resolved = resolve_model("minilm-l6", prepare=False)
    assert resolved.source == "builtin"
    assert resolved.kind == "encoder"
    config = json.loads((resolved.path / "config.json").read_text())
    assert config["hidden_size"] == 384


def test_local_folder_resolves_and_its_kind_is_read_from_config(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["LlamaForCausalLM"]}))
    resolved = resolve_model(str(tmp_path))
    assert (resolved.source, resolved.kind, resolved.path) == ("local", "causal-lm", tmp_path.resolve())


@pytest.mark.parametrize(
    "name, message",
    [
        ("minilm-l12", "unknown model 'minilm-l12'"),
        ("./no/such/folder", "does not exist"),
        ("", "model name is empty"),
    ],
)
def test_bad_names_get_a_clear_error(name: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        resolve_model(name)


def test_folder_without_config_is_refused(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"0")
    with pytest.raises(ModelError, match=r"holds no config\.json"):
        resolve_model(str(tmp_path))


def test_hub_id_respects_hf_hub_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelError, match="HF_HUB_OFFLINE is set"):
        resolve_model("tunewise-tests/no-such-model")


def test_hub_id_in_the_local_cache_resolves_offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Lay out a snapshot exactly as huggingface_hub stores one, then ask for it offline.
    repo = tmp_path / "models--acme--tiny"
    commit = "0" * 40
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(json.dumps({"architectures": ["BertModel"]}))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    resolved = resolve_model("acme/tiny")
    assert resolved.source == "hub"
    assert resolved.path == snapshot
    assert resolved.kind == "encoder"


def test_unreachable_hub_fails_with_instructions(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    # With internet the hub says the repository does not exist; without, it cannot be reached.
    with pytest.raises(ModelError, match="tunewise-tests/no-such-model-x9"):
        resolve_model("tunewise-tests/no-such-model-x9")


def test_list_shows_every_alias() -> None:
    statuses = {s.alias: s for s in list_models()}
    assert set(statuses) == set(BUILTIN_MODELS)
    assert statuses["minilm-l6"].ready
    assert statuses["minilm-l6"].size_bytes > 80_000_000


def test_unprepared_model_says_which_command_prepares_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path))
    with pytest.raises(ModelError, match="tunewise models prepare smollm2-135m-instruct"):
        resolve_model("smollm2-135m-instruct", prepare=False)


def test_crash_during_conversion_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path))

    def crash(gguf: Path, out: Path, progress: object = None) -> None:
        (out / "model.safetensors").write_bytes(b"half a model")
        raise OSError("No space left on device")

    monkeypatch.setattr(models, "convert_gguf", crash)
    with pytest.raises(OSError, match="No space left"):
        prepare_model("smollm2-135m-instruct")
    model_root = tmp_path / "models"
    assert not (model_root / "smollm2-135m-instruct").exists()
    assert [p.name for p in model_root.iterdir() if not p.name.endswith(".lock")] == []
    status = {s.alias: s for s in list_models()}["smollm2-135m-instruct"]
    assert not status.ready


def test_a_damaged_prepared_folder_is_not_ready(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, smollm2: Path) -> None:
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path))
    folder = tmp_path / "models" / "smollm2-135m-instruct"
    folder.mkdir(parents=True)
    for item in smollm2.iterdir():
        if item.name != "model.safetensors":
            os.link(item, folder / item.name)
    (folder / "model.safetensors").write_bytes(b"truncated")
    assert not {s.alias: s for s in list_models()}["smollm2-135m-instruct"].ready


def test_prepared_smollm2_generates_offline(smollm2: Path) -> None:
    # The fixture converted the GGUF file; generation must work from the folder alone, offline.
    result = run_subprocess(
        "generate", "What is the capital of France?", "--max-new-tokens", "12", env={"HF_HUB_OFFLINE": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert "Paris" in result.stdout
    manifest = json.loads((smollm2 / models.MANIFEST).read_text())
    assert manifest["files"]["model.safetensors"] > 500_000_000
    # the manifest lists exactly what the folder holds, so the model stays ready (it listed the
    # temporary marker once, and every later use converted the model again)
    assert set(manifest["files"]) == {p.name for p in smollm2.iterdir() if p.is_file() and p.name != models.MANIFEST}
    assert {s.alias: s for s in list_models()}["smollm2-135m-instruct"].ready
    # plain weights: the config must not claim GGUF quantization any more
    assert "quantization_config" not in json.loads((smollm2 / "config.json").read_text())


@pytest.mark.slow
def test_two_processes_preparing_at_once_convert_once(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**os.environ, "TUNEWISE_HOME": str(tmp_path)}
    command = [sys.executable, "-m", "tui", "models", "prepare", "smollm2-135m-instruct"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    # One process converts; the other waits on the lock and finds the work done.
    assert sorted("(converted)" in out for out, _ in outputs) == [False, True], outputs
    monkeypatch.setenv("TUNEWISE_HOME", str(tmp_path))
    assert {s.alias: s for s in list_models()}["smollm2-135m-instruct"].ready
    assert [p.name for p in (tmp_path / "models").iterdir() if ".tmp-" in p.name] == []
