"""A real OpenAI-compatible server on this machine: llama-cpp-python's, on a GGUF file.

For trying `--lm http://...` without a server of one's own, for the tests of the served arms,
and for the benchmark: the built-in SmolLM2 ships as a GGUF file, which the server reads
directly. Installed with the `serve` extra (`pip install 'tunewise[serve]'`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tunewise.errors import ConfigError, ModelError

START_SECONDS = 90.0  # loading a small GGUF takes seconds; a large one on a slow disk, a minute


def builtin_gguf() -> Path:
    """The built-in chat model's GGUF file, inside its package."""
    from tunewise.models import BUILTIN_MODELS, package_dir

    model = BUILTIN_MODELS["smollm2-135m-instruct"]
    folder = package_dir(model)
    if folder is None or model.gguf_file is None:
        raise ModelError(f"{model.package} is not installed: {model.install_hint()}")
    return folder / model.gguf_file


def server_command(gguf: Path, port: int, *, alias: str = "smollm2", context: int = 4096) -> list[str]:
    """llama-cpp-python's server on `gguf`, on the loopback address only."""
    return [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", alias,
            "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(context), "--verbose", "False"]  # fmt: skip


@dataclass
class LocalServer:
    process: subprocess.Popen[bytes]
    url: str  # the base URL the OpenAI client takes, ending in /v1
    model: str

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=30)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(gguf: Path | None = None, *, alias: str = "smollm2", context: int = 4096) -> LocalServer:
    """The server on a free loopback port, returned once it lists its model."""
    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError("the local server needs llama-cpp-python's server: pip install 'tunewise[serve]'")
    gguf = gguf or builtin_gguf()
    port = free_port()
    command = server_command(gguf, port, alias=alias, context=context)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = LocalServer(process, f"http://127.0.0.1:{port}/v1", alias)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ModelError(f"the server on {gguf} exited with code {process.returncode} before it answered")
        try:
            with urllib.request.urlopen(f"{server.url}/models", timeout=2) as answer:
                if answer.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.kill()
    raise ModelError(f"the server on {gguf} did not answer within {START_SECONDS:.0f} s")


@contextlib.contextmanager
def running_server(gguf: Path | None = None, *, alias: str = "smollm2") -> Iterator[LocalServer]:
    """The server for the length of a `with` block, stopped after it."""
    server = start_server(gguf, alias=alias)
    try:
        yield server
    finally:
        server.process.terminate()
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
