"""Check a fine-tuning JSONL file the way OpenAI's service checks it before a job starts.

Every problem names its line. Errors are what the service refuses (bad JSON, unknown roles,
empty content, no assistant turn, fewer than 10 examples); warnings are what it accepts but
trains badly on (examples over the model's context, which it truncates; duplicates; a
conversation that does not end with the assistant). Token counts use tiktoken with the
model's encoding, and give the billed tokens and the job's cost.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hosted.prices import COMPLETION_MODELS, JobCost, context_limit, job_cost
from hosted.tokens import encoding_for, message_tokens, text_tokens
from tunewise.data.raw import read_text
from tunewise.defaults import FINE_TUNING_GAINS_START, MIN_FINE_TUNING_EXAMPLES

ROLES = ("system", "user", "assistant", "tool", "function")
MESSAGE_KEYS = {"role", "content", "name", "weight", "tool_calls", "function_call", "tool_call_id", "refusal"}
LINE_KEYS = {"messages", "tools", "functions", "parallel_tool_calls"}


@dataclass(frozen=True)
class Problem:
    line: int  # 0: the file as a whole
    severity: str  # "error" or "warning"
    message: str

    def where(self, path: Path) -> str:
        return f"{path}:{self.line}" if self.line else str(path)


@dataclass
class Report:
    path: Path
    format: str  # "chat", "completion" or "unknown"
    n_examples: int
    tokens: list[int]  # per valid example
    problems: list[Problem] = field(default_factory=list)
    cost: JobCost | None = None
    limit: int | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "format": self.format,
            "examples": self.n_examples,
            "tokens": {
                "total": sum(self.tokens),
                "min": min(self.tokens, default=0),
                "mean": round(sum(self.tokens) / len(self.tokens), 1) if self.tokens else 0,
                "max": max(self.tokens, default=0),
                "context_limit": self.limit,
            },
            "errors": [{"line": p.line, "message": p.message} for p in self.errors],
            "warnings": [{"line": p.line, "message": p.message} for p in self.warnings],
            "cost": self.cost.to_dict() if self.cost else None,
            "ok": not self.errors,
        }


def _check_message(number: int, message: Any, position: int) -> list[str]:
    if not isinstance(message, dict):
        return [f"message {number} is not an object"]
    found: list[str] = []
    role = message.get("role")
    if role not in ROLES:
        found.append(f"message {number} has role {json.dumps(role)}; use one of {', '.join(ROLES)}")
    unknown = sorted(set(message) - MESSAGE_KEYS)
    if unknown:
        found.append(f"message {number} has unrecognised keys: {', '.join(unknown)}")
    content = message.get("content")
    calls = message.get("tool_calls") or message.get("function_call")
    if not (isinstance(content, str) and content.strip()) and not (role == "assistant" and calls):
        found.append(f"message {number} ({role}) has no content")
    if role == "system" and position != 0:
        found.append(f"message {number} is a system message after the first turn; move it to the start")
    if "weight" in message:
        if role != "assistant":
            found.append(f"message {number}: weight applies to assistant messages only")
        elif message["weight"] not in (0, 1):
            found.append(f"message {number}: weight must be 0 or 1, got {json.dumps(message['weight'])}")
    return found


def _chat_problems(line: int, obj: dict[str, Any]) -> tuple[list[Problem], list[dict[str, Any]] | None]:
    messages = obj.get("messages")
    unknown = sorted(set(obj) - LINE_KEYS)
    problems = [Problem(line, "error", f"unrecognised keys: {', '.join(unknown)}")] if unknown else []
    if not isinstance(messages, list) or not messages:
        return [*problems, Problem(line, "error", "'messages' must be a non-empty list")], None
    for position, message in enumerate(messages):
        problems += [Problem(line, "error", m) for m in _check_message(position + 1, message, position)]
    if problems:
        return problems, None
    roles = [m["role"] for m in messages]
    if "assistant" not in roles:
        problems.append(Problem(line, "error", "no assistant message: nothing to learn from this example"))
    spoken = [r for r in roles if r in ("user", "assistant")]
    if spoken and spoken[0] != "user":
        problems.append(Problem(line, "warning", "the conversation starts with the assistant, not the user"))
    if any(a == b for a, b in itertools.pairwise(spoken)):
        problems.append(Problem(line, "warning", "two user or two assistant turns in a row"))
    if roles[-1] != "assistant":
        problems.append(Problem(line, "warning", "the last message is not the assistant's; it is not trained on"))
    return problems, messages


def _completion_problems(line: int, obj: dict[str, Any]) -> list[Problem]:
    problems = []
    for key in ("prompt", "completion"):
        if not isinstance(obj.get(key), str):
            problems.append(Problem(line, "error", f"'{key}' must be text"))
    if isinstance(obj.get("completion"), str) and not obj["completion"].strip():
        problems.append(Problem(line, "error", "'completion' is empty"))
    unknown = sorted(set(obj) - {"prompt", "completion"})
    if unknown:
        problems.append(Problem(line, "error", f"unrecognised keys: {', '.join(unknown)}"))
    return problems


def validate_file(
    path: Path,
    *,
    model: str,
    epochs: int,
    price_per_1m: float | None = None,
) -> Report:
    """Every problem of the file, its token counts and the job's cost."""
    lines = read_text(path).splitlines()  # errors name the file, and the line of bad bytes
    encoding_name = encoding_for(model)
    limit = context_limit(model)
    problems: list[Problem] = []
    tokens: list[int] = []
    formats: Counter[str] = Counter()
    seen: dict[str, int] = {}
    n_examples = 0
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            problems.append(Problem(number, "error", "empty line; remove it"))
            continue
        n_examples += 1
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append(Problem(number, "error", f"not valid JSON ({exc.msg} at column {exc.colno})"))
            continue
        except RecursionError:
            problems.append(Problem(number, "error", "JSON nested too deeply to read; each line is one flat example"))
            continue
        if not isinstance(obj, dict):
            problems.append(Problem(number, "error", "each line must be one JSON object"))
            continue
        kind = "chat" if "messages" in obj else "completion" if "prompt" in obj or "completion" in obj else None
        if kind is None:
            problems.append(Problem(number, "error", "neither 'messages' nor 'prompt'/'completion'"))
            continue
        formats[kind] += 1
        if kind == "chat":
            found, messages = _chat_problems(number, obj)
            problems += found
            count = message_tokens(messages, encoding_name) if messages is not None else None
        else:
            found = _completion_problems(number, obj)
            problems += found
            count = None if found else text_tokens(obj["prompt"] + obj["completion"], encoding_name)
        if count is None:
            continue
        tokens.append(count)
        if limit is not None and count > limit:
            problems.append(
                Problem(number, "warning", f"{count:,} tokens, over {model}'s {limit:,}: the service truncates it")
            )
        key = json.dumps(obj, sort_keys=True, ensure_ascii=False)
        if key in seen:
            problems.append(Problem(number, "warning", f"the same example as line {seen[key]}"))
        else:
            seen[key] = number
    if len(formats) > 1:
        problems.append(
            Problem(0, "error", f"mixes chat lines ({formats['chat']}) and prompt/completion lines "
                    f"({formats['completion']}); a file must use one format")
        )  # fmt: skip
    if formats["completion"] and model not in COMPLETION_MODELS:
        problems.append(
            Problem(0, "error", f"prompt/completion lines are for {' and '.join(sorted(COMPLETION_MODELS))}; "
                    f"{model} takes chat messages (tunewise export --format openai-chat)")
        )  # fmt: skip
    elif formats["chat"] and model in COMPLETION_MODELS:
        problems.append(Problem(0, "error", f"{model} takes prompt/completion lines, not chat messages"))
    if n_examples < MIN_FINE_TUNING_EXAMPLES:
        problems.append(
            Problem(0, "error", f"{n_examples} examples; the service needs at least {MIN_FINE_TUNING_EXAMPLES}")
        )
    elif n_examples < FINE_TUNING_GAINS_START:
        problems.append(
            Problem(
                0,
                "warning",
                f"{n_examples} examples; gains usually start at {FINE_TUNING_GAINS_START} to 100 good ones",
            )
        )
    problems.sort(key=lambda p: (p.line, p.severity != "error"))
    fmt = formats.most_common(1)[0][0] if formats else "unknown"
    cost = job_cost(model, sum(tokens), epochs, price_per_1m)
    return Report(path, fmt, n_examples, tokens, problems, cost, limit)
