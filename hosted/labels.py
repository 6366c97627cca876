"""Choosing a label through a served model, which gives no log-probabilities of arbitrary text.

The answer is constrained where the server can: a JSON schema whose one field is an enum of the
labels, asked first the way OpenAI's structured outputs take it (`json_schema`, also vLLM's
and llama.cpp's own server's way), then the way llama-cpp-python's server takes it
(`json_object` with a `schema`). The first the server accepts is kept for the run. Where it
accepts neither, the free answer is read by one fixed rule (`parse_label`), and an answer that
names no label counts as wrong.
"""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any

from hosted.served import Reply, RequestRefusedError, ServedLM
from tunewise.errors import ModelError

LABEL_TOKENS = 24  # room for {"label": "<the longest label>"} in most tokenizers; labels are short
NO_LABEL = ""  # what an answer naming no label is scored as: equal to no gold label


def label_schema(labels: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"label": {"type": "string", "enum": labels}},
        "required": ["label"],
        "additionalProperties": False,
    }


def response_formats(labels: list[str]) -> dict[str, dict[str, Any] | None]:
    """The ways to ask for one of `labels`, most portable constraint first; `parsed` asks freely."""
    schema = label_schema(labels)
    return {
        "json_schema": {"type": "json_schema", "json_schema": {"name": "label", "schema": schema, "strict": True}},
        "json_object": {"type": "json_object", "schema": schema},
        "parsed": None,
    }


def _normal(text: str) -> str:
    return " ".join(text.lower().strip().strip(string.punctuation + "\"'`").split())


def parse_label(text: str, labels: list[str]) -> str:
    """The label an answer gives, by one fixed rule: the JSON field `label` when the answer is
    that object; else the answer itself when it is a label (case, spacing and surrounding
    punctuation aside); else the label named earliest in the answer as whole words (the longer
    of two at the same place); else `NO_LABEL`."""
    stripped = text.strip()
    if stripped.startswith("{"):
        try:
            value = json.loads(stripped).get("label")
        except (ValueError, AttributeError):
            value = None
        if isinstance(value, str) and value in labels:
            return value
        if isinstance(value, str):
            stripped = value
    by_normal = {_normal(label): label for label in labels}
    if _normal(stripped) in by_normal:
        return by_normal[_normal(stripped)]
    answer = _normal(stripped)
    found: list[tuple[int, int, str]] = []
    for normal, label in by_normal.items():
        match = re.search(rf"(?<!\w){re.escape(normal)}(?!\w)", answer) if normal else None
        if match:
            found.append((match.start(), -len(normal), label))
    return min(found)[2] if found else NO_LABEL


@dataclass
class LabelAsker:
    """Asks `lm` for one of `labels`, in the first way the server accepts (found on the first call)."""

    lm: ServedLM
    labels: list[str]
    way: str | None = None

    def ask(self, messages: list[dict[str, str]], labels: list[str] | None = None) -> tuple[str, Reply]:
        """The label chosen among `labels` (default: all of them) and the reply it came from."""
        labels = labels or self.labels
        formats = response_formats(labels)
        ways = [self.way] if self.way is not None else list(formats)
        for way in ways:
            try:
                trying = self.way is None and way != "parsed"  # finding out which constraint the server takes
                reply = self.lm.chat(messages, max_tokens=LABEL_TOKENS, response_format=formats[way], trying=trying)
            except RequestRefusedError as exc:
                if self.way is not None or way == "parsed":
                    raise ModelError(f"{self.lm.name}: the server refused the request ({str(exc)[:200]})") from None
                continue
            self.way = way
            return parse_label(reply.text, labels), reply
        raise AssertionError("unreachable")  # `parsed` is always accepted or raises
