"""Any data tunewise reads, as the JSONL files OpenAI's fine-tuning API takes.

`openai-chat` writes one `{"messages": [...]}` per line (the format every current model
takes); `openai-completion` writes the legacy `{"prompt": ..., "completion": ...}` lines of
the guide's example. Labelled rows become a user turn (the text) and an assistant turn (the
label); prompt/completion, question/answer and chat rows keep their turns. The train and
validation files come from the same split every other command uses (`--eval-fraction`,
`--seed`, or the user's own eval file), so a hosted run can be compared with local arms on
the same held-out examples.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tunewise.atomic import atomic_write_text
from tunewise.data.shapes import Dataset, Shape, conversation
from tunewise.data.task import TaskData
from tunewise.errors import DataError

FORMATS = ("openai-chat", "openai-completion")


@dataclass(frozen=True)
class ExportResult:
    train_path: Path
    validation_path: Path
    n_train: int
    n_validation: int


def validation_path_for(out: Path) -> Path:
    """`train.jsonl` -> `train_validation.jsonl`, beside it."""
    return out.with_name(f"{out.stem}_validation{out.suffix or '.jsonl'}")


def to_messages(dataset: Dataset, record: dict[str, Any], system: str | None) -> list[dict[str, str]]:
    if dataset.shape is Shape.LABELLED:
        turns = [{"role": "user", "content": record["text"]}, {"role": "assistant", "content": record["label"]}]
    elif dataset.shape is Shape.DOCUMENTS:
        raise DataError(
            f"{dataset.source}: documents have no answers to learn; give labelled, prompt/completion, "
            "question/answer or chat data (documents suit the retrieval arm instead)"
        )
    else:
        turns = conversation(dataset.shape, record)
    if system and not (turns and turns[0]["role"] == "system"):
        turns = [{"role": "system", "content": system}, *turns]
    return turns


def to_line(dataset: Dataset, position: int, fmt: str, system: str | None) -> dict[str, Any]:
    messages = to_messages(dataset, dataset.records[position], system)
    if fmt == "openai-chat":
        return {"messages": messages}
    # Legacy completions: one prompt and one answer; a system text leads the prompt.
    spoken = [m for m in messages if m["role"] != "system"]
    if len(spoken) != 2 or spoken[0]["role"] != "user":
        raise DataError(
            f"{dataset.where(position)}: a conversation of {len(spoken)} turns has no prompt/completion form; "
            "use --format openai-chat"
        )
    prefix = "".join(f"{m['content']}\n\n" for m in messages if m["role"] == "system")
    return {"prompt": prefix + spoken[0]["content"], "completion": spoken[1]["content"]}


def _jsonl(dataset: Dataset, fmt: str, system: str | None) -> str:
    lines = [json.dumps(to_line(dataset, i, fmt, system), ensure_ascii=False) for i in range(len(dataset))]
    return "".join(line + "\n" for line in lines)


def _check_targets(data: TaskData, targets: list[Path], overwrite: bool) -> None:
    """Never write over the data being read; write over another file only when asked to."""
    sources = {Path(p).expanduser().resolve() for p in (data.spec.path, data.spec.eval_path) if p}
    for target in targets:
        if target.expanduser().resolve() in sources:
            raise DataError(f"--out: {target} is the data being exported; write to another file")
        if target.is_dir():
            raise DataError(f"--out: {target} is a folder; give a file name ending in .jsonl")
        if target.exists() and not overwrite:
            raise DataError(f"--out: {target} already exists; choose another name or pass --overwrite to replace it")


def export(data: TaskData, fmt: str, out: Path, system: str | None = None, *, overwrite: bool = False) -> ExportResult:
    """Write the train and validation files, each whole (a temporary file renamed into place)."""
    if fmt not in FORMATS:
        raise DataError(f"--format: '{fmt}' is not one of {', '.join(FORMATS)}")
    if out.suffix.lower() != ".jsonl":
        raise DataError(f"--out: {out} should end in .jsonl (one JSON object per line is what the API takes)")
    validation = validation_path_for(out)
    _check_targets(data, [out, validation], overwrite)
    # Everything is converted before anything is written: a row that cannot be exported
    # stops the command with nothing half-written.
    train_text, validation_text = _jsonl(data.train, fmt, system), _jsonl(data.eval, fmt, system)
    atomic_write_text(validation, validation_text)
    try:
        atomic_write_text(out, train_text)
    except BaseException:
        validation.unlink(missing_ok=True)
        raise
    return ExportResult(out, validation, len(data.train), len(data.eval))
