"""Model folders that ship Python code: refused in one line whatever stdin answers, run only with --trust-remote-code.

The folders here are real (the built-in minilm-l6 files) with a config.json whose `auto_map` points at
a `.py` file in the folder; importing that file writes a sentinel, so a test sees whether the code ran.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO, CliResult
from tui.cli import NO_MODEL_COMMANDS, build_parser, command_parsers
from tunewise import trust
from tunewise.errors import ModelError
from tunewise.model_files import check_no_custom_code
from tunewise.models import resolve_model

MINILM_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")
WEIGHTS = "model.safetensors"

CUSTOM_CODE = """
from pathlib import Path

Path({sentinel!r}).write_text("the model folder's code ran")

from transformers import BertConfig, BertForSequenceClassification, BertModel


class CustomConfig(BertConfig):
    model_type = "custom-bert"


class CustomModel(BertModel):
    config_class = CustomConfig


class CustomClassifier(BertForSequenceClassification):
    config_class = CustomConfig
"""
AUTO_MAP = {
    "AutoConfig": "custom_code.CustomConfig",
    "AutoModel": "custom_code.CustomModel",
    "AutoModelForSequenceClassification": "custom_code.CustomClassifier",
}


@dataclass(frozen=True)
class CodeFolder:
    folder: Path
    sentinel: Path  # written by the folder's code when it is imported
    modules_cache: Path  # where transformers copies a folder's code before importing it
    data: Path


@pytest.fixture(autouse=True)
def default_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process calls of the CLI set the process-wide policy; put it back after each test."""
    monkeypatch.setattr(trust, "_trust_remote_code", False)


def _copy_minilm(folder: Path) -> None:
    source = resolve_model("minilm-l6").path
    folder.mkdir(parents=True)
    for name in (*MINILM_FILES, WEIGHTS):
        shutil.copy(source / name, folder / name)


def _edit_json(path: Path, **changes: object) -> None:
    path.write_text(json.dumps(json.loads(path.read_text()) | changes, indent=2))


@pytest.fixture
def code_folder(tmp_path: Path) -> CodeFolder:
    folder = tmp_path / "custom-model"
    _copy_minilm(folder)
    sentinel = tmp_path / "sentinel.txt"
    (folder / "custom_code.py").write_text(CUSTOM_CODE.format(sentinel=str(sentinel)))
    _edit_json(
        folder / "config.json",
        auto_map=AUTO_MAP,
        model_type="custom-bert",
        architectures=["BertForSequenceClassification"],
        id2label={"0": "negative", "1": "positive"},
        label2id={"negative": 0, "positive": 1},
    )
    data = tmp_path / "meals.csv"
    rows = [
        f'"the meal was {w}, visit {i}",{label}'
        for i in range(6)
        for w, label in (("great", "positive"), ("awful", "negative"))
    ]
    data.write_text("text,label\n" + "\n".join(rows) + "\n")
    return CodeFolder(folder, sentinel, tmp_path / "hf-modules", data)


@pytest.fixture(scope="module")
def adapter_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real LoRA classification adapter over minilm-l6, saved the way a run saves one."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model
    from transformers import AutoModelForSequenceClassification

    source = resolve_model("minilm-l6").path
    folder = tmp_path_factory.mktemp("adapter") / "model"
    torch.manual_seed(0)
    base = AutoModelForSequenceClassification.from_pretrained(source, num_labels=2, trust_remote_code=False)
    adapted = get_peft_model(base, LoraConfig(task_type=TaskType.SEQ_CLS, r=4, target_modules=["query", "value"]))
    adapted.save_pretrained(str(folder))
    for name in MINILM_FILES[1:]:
        shutil.copy(source / name, folder / name)
    (folder / "labels.json").write_text(json.dumps(["negative", "positive"]))
    return folder


def _tunewise(args: list[str], case: CodeFolder, stdin: str | None) -> subprocess.CompletedProcess[str]:
    """The real command line in a fresh interpreter, stdin answering `stdin` (or closed)."""
    env = {**os.environ, "HF_MODULES_CACHE": str(case.modules_cache), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )


def _command(which: str, case: CodeFolder, adapter: Path, out: Path) -> list[str]:
    folder = str(case.folder)
    return {
        "predict": ["predict", folder, "the meal was great"],
        "train": ["train", "--quiet", "--set", f"base_model={folder}", "--set", f"data={case.data}",
                  "--set", f"output_dir={out}", "--set", "max_steps=1"],
        "rag build": ["rag", "build", str(case.data), "--out", str(out), "--model", folder],
        "adapter on it": ["predict", str(adapter), "the meal was great"],
    }[which]  # fmt: skip


@pytest.fixture
def adapter_on_code(adapter_source: Path, code_folder: CodeFolder, tmp_path: Path) -> Path:
    adapter = tmp_path / "adapter-run" / "model"
    shutil.copytree(adapter_source, adapter)
    _edit_json(adapter / "adapter_config.json", base_model_name_or_path=str(code_folder.folder))
    return adapter.parent


@pytest.mark.parametrize("stdin", ["y\n", None], ids=["stdin says y", "stdin closed"])
@pytest.mark.parametrize("which", ["predict", "train", "rag build", "adapter on it"])
def test_code_in_a_model_folder_never_runs_without_the_flag(
    which: str, stdin: str | None, code_folder: CodeFolder, adapter_on_code: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = _tunewise(_command(which, code_folder, adapter_on_code, out), code_folder, stdin)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("tunewise: error:"), result.stderr
    assert f"{code_folder.folder / 'config.json'}: asks to run custom code (auto_map: custom_code." in lines[0]
    assert "unless you pass --trust-remote-code" in lines[0]
    assert "Traceback" not in result.stderr and "[y/N]" not in result.stdout + result.stderr
    assert not code_folder.sentinel.exists()
    assert not list(code_folder.modules_cache.rglob("custom_code.py"))  # not even copied to be imported
    assert not out.exists()


@pytest.mark.parametrize(
    "before, which",
    [(True, "predict"), (False, "rag build")],
    ids=["flag before the command", "flag after the command"],
)
def test_trust_remote_code_lets_the_folder_code_run(
    before: bool, which: str, code_folder: CodeFolder, adapter_source: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    command = _command(which, code_folder, adapter_source, out)
    args = ["--trust-remote-code", *command] if before else [*command, "--trust-remote-code"]
    result = _tunewise(args, code_folder, stdin=None)
    assert result.returncode == 0, result.stderr
    assert code_folder.sentinel.read_text() == "the model folder's code ran"
    if which == "predict":
        assert result.stdout.strip() in {"negative", "positive"}
    else:
        assert (out / "manifest.json").is_file() and (out / "index.faiss").is_file()


def _st_folder(root: Path) -> Path:
    """A sentence-transformers folder laid out like minilm-l6's: Transformer, Pooling and Normalize modules."""
    folder = root / "st-model"
    _copy_minilm(folder)
    source = resolve_model("minilm-l6").path
    for name in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json"):
        shutil.copy(source / name, folder / name)
    shutil.copytree(source / "1_Pooling", folder / "1_Pooling")
    return folder


def _module_type(folder: Path) -> str:
    modules = json.loads((folder / "modules.json").read_text())
    modules[1]["type"] = "custom_pooling.Pooling"
    (folder / "modules.json").write_text(json.dumps(modules))
    return "modules.json"


def _dense_activation(folder: Path) -> str:
    modules = json.loads((folder / "modules.json").read_text())
    modules.append({"idx": 3, "name": "3", "path": "3_Dense", "type": "sentence_transformers.models.Dense"})
    (folder / "modules.json").write_text(json.dumps(modules))
    (folder / "3_Dense").mkdir()
    config = {"in_features": 384, "out_features": 8, "bias": True, "activation_function": "custom_act.Act"}
    (folder / "3_Dense" / "config.json").write_text(json.dumps(config))
    return "3_Dense/config.json"


def _tokenizer_auto_map(folder: Path) -> str:
    _edit_json(folder / "tokenizer_config.json", auto_map={"AutoTokenizer": ["custom_tok.Slow", "custom_tok.Fast"]})
    return "tokenizer_config.json"


def _sub_transformer(folder: Path) -> str:
    """The Transformer module in a subfolder of its own, whose config asks for code."""
    sub = folder / "0_Transformer"
    sub.mkdir()
    for name in (*MINILM_FILES, "sentence_bert_config.json"):
        shutil.copy(folder / name, sub / name)
    (folder / WEIGHTS).rename(sub / WEIGHTS)
    modules = json.loads((folder / "modules.json").read_text())
    modules[0]["path"] = "0_Transformer"
    (folder / "modules.json").write_text(json.dumps(modules))
    _edit_json(sub / "config.json", auto_map={"AutoModel": "custom_code.Model"})
    return "0_Transformer/config.json"


@pytest.mark.parametrize(
    "ask, command",
    [
        (_module_type, "rag"),
        (_dense_activation, "rag"),
        (_sub_transformer, "rag"),
        (_tokenizer_auto_map, "rag"),
        (_tokenizer_auto_map, "profile"),
        (_tokenizer_auto_map, "models prepare"),
    ],
    ids=lambda value: getattr(value, "__name__", value),
)
def test_every_way_a_folder_asks_for_code_is_refused(
    ask: Callable[[Path], str], command: str, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    folder = _st_folder(tmp_path)
    asking_file = ask(folder)
    data = tmp_path / "notes.csv"
    data.write_text("text,label\n" + "".join(f"note {i},{'ab'[i % 2]}\n" for i in range(12)))
    args = {
        "rag": ["rag", "build", data, "--out", tmp_path / "index", "--model", folder],
        "profile": ["profile", data, "--model", folder],
        "models prepare": ["models", "prepare", folder],
    }[command]
    result = cli(*args)
    assert result.code == 2, result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"tunewise: error: {folder / asking_file}: asks to run custom code")
    assert not (tmp_path / "index").exists()


def test_the_checks_find_nothing_in_the_built_in_models() -> None:
    check_no_custom_code(resolve_model("minilm-l6").path)  # with its modules.json, Pooling and Normalize


def test_the_policy_lets_a_trusted_folder_through(code_folder: CodeFolder) -> None:
    with pytest.raises(ModelError, match="asks to run custom code"):
        check_no_custom_code(code_folder.folder)
    trust.set_trust_remote_code(True)
    assert trust.trust_remote_code()
    check_no_custom_code(code_folder.folder)


def _model_commands() -> Iterator[str]:
    for name, parser in command_parsers(build_parser()):
        if name not in NO_MODEL_COMMANDS and not any(a.dest == "action" for a in parser._actions):
            yield name


def test_every_command_that_loads_a_model_takes_the_flag_after_it() -> None:
    names = list(_model_commands())
    assert {"predict", "generate", "train", "merge", "profile", "rag build", "rag query", "models prepare"} <= set(
        names
    )
    parsers = dict(command_parsers(build_parser()))
    for name in names:
        assert "--trust-remote-code" in parsers[name]._option_string_actions, name
    assert "--trust-remote-code" not in parsers["models list"]._option_string_actions


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["predict", "RUN", "text"], False),
        (["--trust-remote-code", "predict", "RUN", "text"], True),
        (["predict", "RUN", "text", "--trust-remote-code"], True),
        (["rag", "build", "DATA", "--out", "DIR", "--trust-remote-code"], True),
        (["--trust-remote-code", "train", "--set", "max_steps=1"], True),
    ],
)
def test_the_flag_parses_before_and_after_the_command(argv: list[str], expected: bool) -> None:
    assert build_parser().parse_args(argv).trust_remote_code is expected
