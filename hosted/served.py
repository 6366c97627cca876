"""A model served elsewhere, spoken to through the OpenAI protocol with the official client.

`--lm` names either a local model (an alias, a folder, a hub id) or a served one:

    openai:gpt-4o-mini                 OpenAI's API; the key from OPENAI_API_KEY
    http://127.0.0.1:8080/v1           any OpenAI-compatible server (llama.cpp, vLLM, Ollama,
                                       LM Studio, TGI); --lm-model names the model where it
                                       serves several, --lm-key-env the variable holding a key

What a network brings is handled here, once: the server and the model are checked before any
arm runs (a refused key or an unknown model is one line), each call has a timeout, a 429 or 5xx
is retried with exponential back-off a bounded number of times (and counted), calls run
`concurrency` at a time, and every reply is cached on disk by (server, model, request), so a
re-run or a resumed comparison costs no call and answers the same. The key is read from the
environment when a call is made and never written anywhere: not to a log, a report, the cache
or the run registry.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from tunewise.atomic import atomic_write_json
from tunewise.errors import ConfigError, ModelError

OPENAI_PREFIX = "openai:"
OPENAI_KEY_ENV = "OPENAI_API_KEY"
NO_KEY = "none"  # what a local server is sent when it needs no key (the client insists on one)
TIMEOUT_SECONDS = 120.0  # one call; a small CPU server answers a prompt in seconds
RETRIES = 4  # after the first try: 0.5, 1, 2, 4 s (and jitter) before giving up
DEFAULT_CONCURRENCY = 4
CACHE_VERSION = 1  # bump when what a cached reply holds changes


@dataclass(frozen=True)
class Endpoint:
    """Where a served model is: its server (None for OpenAI's own), the model, and the name of
    the environment variable that holds the key (never the key itself)."""

    base_url: str | None
    model: str | None
    key_env: str | None

    @property
    def label(self) -> str:
        """How reports, logs and results name it: the server and model, never the key."""
        if self.base_url is None:
            return f"{OPENAI_PREFIX}{self.model}"
        return f"{self.base_url} ({self.model})" if self.model else self.base_url

    @property
    def hosted(self) -> bool:
        """Whether this is OpenAI's API (priced by its table), not a server the user runs."""
        return self.base_url is None

    def key(self) -> str:
        """The key from the environment; a local server that needs none is sent a placeholder."""
        if self.key_env:
            value = os.environ.get(self.key_env, "")
            if value:
                return value
            if self.hosted:
                raise ConfigError(f"--lm {self.label}: set {self.key_env} to your API key (it is read, never stored)")
            raise ConfigError(
                f"--lm-key-env {self.key_env}: that variable is not set; export it, or leave the flag out"
            )
        return NO_KEY


def endpoint_of(lm: str | None, *, model: str | None = None, key_env: str | None = None) -> Endpoint | None:
    """The served model `--lm` names, or None when it names a local model (or nothing)."""
    if not lm:
        if model or key_env:
            raise ConfigError("--lm-model and --lm-key-env name a served model; give --lm URL or --lm openai:MODEL too")
        return None
    if lm.startswith(OPENAI_PREFIX):
        name = lm.removeprefix(OPENAI_PREFIX).strip() or model
        if not name:
            raise ConfigError(f"--lm {lm}: name the model, e.g. --lm openai:gpt-4o-mini")
        return Endpoint(None, name, key_env or OPENAI_KEY_ENV)
    if lm.startswith(("http://", "https://")):
        parsed = urlparse(lm)
        if not parsed.hostname:
            raise ConfigError(f"--lm {lm}: not a server address; give one such as http://127.0.0.1:8080/v1")
        if parsed.username or parsed.password:  # the address is logged and recorded; a key must not be
            raise ConfigError(
                "--lm: the address holds a user name or password; put the key in an environment variable and "
                "name it with --lm-key-env"
            )
        return Endpoint(lm.rstrip("/"), model, key_env)
    if model or key_env:
        raise ConfigError(f"--lm {lm} is a local model; --lm-model and --lm-key-env apply to a served one")
    return None


@dataclass(frozen=True)
class Reply:
    """One answer: its text, the tokens the server counted, and how long the call took when it
    was made (a cached reply keeps the latency it had)."""

    text: str
    tokens_in: int
    tokens_out: int
    seconds: float
    cached: bool = False


@dataclass
class CallStats:
    """What talking to the server took: made calls, answers from the cache, retries."""

    calls: int = 0
    cached: int = 0
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, calls: int = 0, cached: int = 0, retries: int = 0) -> None:
        with self.lock:
            self.calls += calls
            self.cached += cached
            self.retries += retries

    def to_dict(self) -> dict[str, int]:
        return {"calls": self.calls, "cached": self.cached, "retries": self.retries}


class RequestRefusedError(Exception):
    """The server refused a request's options (a response format it does not know)."""


class ServedLM:
    """A served chat model: checked once, then asked many times, concurrently, through a cache."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        cache_dir: Path | None = None,
        fresh: bool = False,
        timeout: float = TIMEOUT_SECONDS,
        retries: int = RETRIES,
    ) -> None:
        if concurrency < 1:
            raise ConfigError(f"--lm-concurrency must be at least 1, got {concurrency}")
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.cache_dir = cache_dir
        self.fresh = fresh
        self.timeout, self.retries = timeout, retries
        self.stats = CallStats()
        self._client: Any = None
        self._model = endpoint.model

    @property
    def name(self) -> str:
        return (
            self.endpoint.label if self._model == self.endpoint.model else f"{self.endpoint.base_url} ({self._model})"
        )

    @property
    def model(self) -> str:
        if self._model is None:
            raise ModelError(f"{self.endpoint.label}: not connected yet")
        return self._model

    def _openai(self) -> Any:
        if self._client is None:
            import openai

            # Retries are this class's own, so that each is counted and bounded the same way.
            self._client = openai.OpenAI(
                base_url=self.endpoint.base_url, api_key=self.endpoint.key(), timeout=self.timeout, max_retries=0
            )
        return self._client

    def connect(self) -> ServedLM:
        """Check the server, the key and the model before any arm runs; pick the model when the
        server serves exactly one and none was named. One line for whatever is wrong."""
        import openai

        where = self.endpoint.label
        try:
            served = [model.id for model in self._openai().models.list()]
        except openai.AuthenticationError:
            raise ConfigError(f"--lm {where}: the server refused the key in {self.endpoint.key_env}") from None
        except openai.PermissionDeniedError:
            raise ConfigError(f"--lm {where}: the key in {self.endpoint.key_env} may not list models") from None
        except (openai.APIConnectionError, openai.APITimeoutError):
            raise ConfigError(f"--lm {where}: no server answers there; start it, or check the address") from None
        except openai.APIStatusError as exc:
            raise ConfigError(f"--lm {where}: the server answered {exc.status_code} to a list of its models") from None
        if self._model is None:
            if len(served) != 1:
                listed = ", ".join(served[:8]) or "none"
                raise ConfigError(f"--lm {where}: name the model with --lm-model; the server serves {listed}")
            self._model = served[0]
        elif served and self._model not in served:
            raise ConfigError(f"--lm {where}: the server has no model {self._model}; it serves {', '.join(served[:8])}")
        return self

    # ------------------------------------------------------------------------ asking

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        max_tokens: int,
        response_format: dict[str, Any] | None = None,
        trying: bool = False,
    ) -> Reply:
        """One chat completion, greedy, from the cache when it has answered the same before.

        `trying` asks whether the server takes the request at all (a response format it may not
        know): any error status then means no, at once and without retries, since servers answer
        an option they do not know with 400, 422 or (llama-cpp-python's) 500."""
        request: dict[str, Any] = {"messages": messages, "max_tokens": max_tokens, "temperature": 0.0}
        if response_format is not None:
            request["response_format"] = response_format
        path = self._cached_at(request)
        if path is not None and not self.fresh and path.is_file():
            try:
                saved = json.loads(path.read_text(encoding="utf-8"))
                reply = Reply(saved["text"], saved["tokens_in"], saved["tokens_out"], saved["seconds"], cached=True)
            except (OSError, ValueError, KeyError, TypeError):
                pass  # a damaged entry is asked again
            else:
                self.stats.add(cached=1)
                return reply
        reply = self._call(request, trying=trying)
        if path is not None:
            atomic_write_json(path, {"text": reply.text, "tokens_in": reply.tokens_in,
                                     "tokens_out": reply.tokens_out, "seconds": reply.seconds})  # fmt: skip
        return reply

    def chat_all(
        self, calls: Sequence[Callable[[], Reply]], progress: Callable[[int], None] | None = None
    ) -> list[Reply]:
        """Run `calls` (each a `chat`) `concurrency` at a time; replies in the order given. What
        was answered before a stop or a failure stays in the cache."""
        if self.concurrency == 1 or len(calls) < 2:
            replies = []
            for call in calls:
                replies.append(call())
                if progress:
                    progress(len(replies))
            return replies
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = [pool.submit(call) for call in calls]
            try:
                replies = []
                for future in futures:
                    replies.append(future.result())
                    if progress:
                        progress(len(replies))
                return replies
            except BaseException:
                for future in futures:
                    future.cancel()
                raise

    def _cached_at(self, request: dict[str, Any]) -> Path | None:
        if self.cache_dir is None:
            return None
        identity = {"v": CACHE_VERSION, "server": self.endpoint.base_url or "openai", "model": self.model}
        digest = hashlib.sha256(json.dumps(identity | {"request": request}, sort_keys=True).encode()).hexdigest()
        return self.cache_dir / digest[:2] / f"{digest}.json"

    def _call(self, request: dict[str, Any], *, trying: bool = False) -> Reply:
        import openai

        where = self.name
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                response = self._openai().chat.completions.create(model=self.model, **request)
            except openai.AuthenticationError:
                raise ModelError(f"{where}: the server refused the key in {self.endpoint.key_env}") from None
            except openai.APIStatusError as exc:
                if trying or isinstance(exc, openai.BadRequestError | openai.UnprocessableEntityError):
                    raise RequestRefusedError(str(exc)) from None
                if isinstance(exc, openai.NotFoundError):
                    raise ModelError(f"{where}: the server no longer has model {self.model}") from None
                if not isinstance(exc, openai.RateLimitError | openai.InternalServerError):
                    raise ModelError(f"{where}: the server answered {exc.status_code}") from None
                failure: Exception = exc
            except openai.APIConnectionError as exc:  # a timeout too
                failure = exc
            else:
                seconds = time.perf_counter() - started
                self.stats.add(calls=1)
                usage = response.usage
                text = (response.choices[0].message.content or "") if response.choices else ""
                tokens_in, tokens_out = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
                return Reply(text, tokens_in, tokens_out, seconds)
            if attempt == self.retries:
                raise ModelError(f"{where}: {_said(failure)} after {attempt + 1} tries; the answers so far are cached")
            self.stats.add(retries=1)
            time.sleep(_backoff(attempt))
        raise AssertionError("unreachable")  # the loop returns or raises


def _backoff(attempt: int) -> float:
    """Seconds before the next try: doubling from half a second, at most 8, with jitter so that
    concurrent calls do not all come back at once."""
    return float(min(8.0, 0.5 * 2.0**attempt)) * (1 + random.random() / 4)


def _said(exc: Exception) -> str:
    import openai

    if isinstance(exc, openai.RateLimitError):
        return "rate-limited (429)"
    if isinstance(exc, openai.APITimeoutError):
        return "no answer within the timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "the server stopped answering"
    return "the server failed (5xx)"


def served_cache() -> Path:
    """Beside the run registry: one home for what tunewise measured and asked."""
    from tunewise.registry import registry_path

    return registry_path().parent / "served"
