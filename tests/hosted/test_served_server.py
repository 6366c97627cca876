"""The prompted arms through a real OpenAI-compatible server: llama-cpp-python's, on the built-in
SmolLM2 GGUF, on this machine's loopback address. No mock of the protocol: the official client
talks to a real server, which constrains, counts tokens, and dies when it is killed.

Skipped where the server is not installed (`pip install 'tunewise[serve]'`; CI installs it).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hosted import llama_server
from tests.conftest import REPO, CliResult

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None,
    reason="needs llama-cpp-python's server: pip install 'tunewise[serve]' (CI installs it)",
)
SECRET = "sk-test-never-written-anywhere"
SAMPLE = ["--prompt-sample", "24", "--choice-sample", "8"]


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    server = llama_server.start_server()
    return server.process, server.url


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server, url = start_server()
    yield url
    server.terminate()
    server.wait(timeout=30)


def _arms(out: Path) -> dict[str, dict[str, object]]:
    results = json.loads((out / "results.json").read_text())
    return {arm["name"]: arm for arm in results["arms"]}


def test_compare_prompts_the_served_model_and_prices_it(
    server_url: str, cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEWISE_TEST_KEY", SECRET)
    out = tmp_path / "served"
    flags = ["--lm", server_url, "--lm-key-env", "TUNEWISE_TEST_KEY", "--price-in", "0.5", "--price-out", "1.5"]
    first = cli("compare", "--data", "demo", "--arms", "prompting,fewshot,rag,head", *flags, *SAMPLE, "--out", str(out))
    assert first.code == 0, first.err
    arms = _arms(out)
    labels = set(json.loads((out / "results.json").read_text())["test_labels"])
    for name in ("prompting", "fewshot"):
        arm = arms[name]
        assert arm["status"] == "ok", arm["reason"]
        config, cost = arm["config"], arm["cost"]
        assert config["served"] and config["model"].endswith("(smollm2)")
        assert config["constraint"] in ("json_schema", "json_object")  # the server constrained the label
        predictions = arm["predictions"]
        assert set(predictions) <= labels and len(predictions) == 24  # every answer is a label
        assert config["calls"]["calls"] > 24 and config["calls"]["retries"] == 0
        assert cost["tokens_in_per_call"] > 20 and 0 < cost["tokens_out_per_call"] <= 24
        assert 0 < cost["latency_p50"] <= cost["latency_p95"]
        expected = (cost["tokens_in_per_call"] * 0.5 + cost["tokens_out_per_call"] * 1.5) / 1000
        assert cost["usd_per_1000"] == pytest.approx(expected)
    report = (out / "report.md").read_text()
    assert "Prompted through `http://127.0.0.1:" in report and "labels constrained by json_object" in report
    assert arms["head"]["cost"]["usd_per_1000"] == 0.0  # this machine's CPU, priced per GPU-hour: nothing
    registry = Path(os.environ["TUNEWISE_REGISTRY"])
    written = [path for path in [*out.iterdir(), *registry.parent.rglob("*")] if path.is_file()]  # cache too
    assert any("served" in path.parts for path in written)
    assert not [path for path in written if SECRET.encode() in path.read_bytes()], "the key was written"
    assert SECRET not in first.out + first.err

    # A comparison that recorded nothing (a new registry beside the first, so the same reply cache):
    # the arms run again, and the server is asked nothing it has answered.
    monkeypatch.setenv("TUNEWISE_REGISTRY", str(registry.with_name("another.sqlite")))
    again = cli("compare", "--data", "demo", "--arms", "prompting,fewshot", *flags, *SAMPLE, "--out", str(out))
    assert again.code == 0, again.err
    for name in ("prompting", "fewshot"):
        calls = _arms(out)[name]["config"]["calls"]  # type: ignore[index]
        assert calls["calls"] == 0 and calls["cached"] > 24, calls
        assert _arms(out)[name]["predictions"] == arms[name]["predictions"]


def test_a_wrong_model_is_one_line_before_any_arm_runs(server_url: str, cli: Callable[..., CliResult]) -> None:
    result = cli("compare", "--data", "demo", "--arms", "head,prompting", "--lm", server_url, "--lm-model", "nope")
    assert result.code == 2
    assert "has no model nope; it serves smollm2" in result.err and len(result.err.strip().splitlines()) == 1


def test_a_server_killed_mid_run_fails_its_arm_in_one_line_and_keeps_the_others(tmp_path: Path) -> None:
    server, url = start_server()
    out = tmp_path / "killed"
    command = [sys.executable, "-m", "tui", "compare", "--data", "demo", "--arms", "head,prompting", "--lm", url,
               "--prompt-sample", "200", "--choice-sample", "8", "--fresh", "--out", str(out)]  # fmt: skip
    env = os.environ | {"TUNEWISE_REGISTRY": str(tmp_path / "registry.sqlite")}
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert run.stderr is not None
        for line in run.stderr:
            if line.startswith("prompting..."):
                time.sleep(3)  # a few answers in
                server.send_signal(signal.SIGKILL)
                break
        _, rest = run.communicate(timeout=300)
    finally:
        server.kill()
        run.kill()
    assert run.returncode == 0, rest
    arms = _arms(out)
    assert arms["head"]["status"] == "ok"
    assert arms["prompting"]["status"] == "failed"
    assert "the server stopped answering after 5 tries" in str(arms["prompting"]["reason"])


def test_answers_are_asked_of_the_served_model_with_and_without_examples(
    server_url: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    out = tmp_path / "answers"
    result = cli("compare", "--data", "demo-qa", "--arms", "prompting,rag", "--lm", server_url, "--no-probe",
                 "--prompt-sample", "8", "--choice-sample", "4", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    arms = _arms(out)
    for name in ("prompting", "rag"):
        arm = arms[name]
        assert arm["status"] == "ok", arm["reason"]
        assert arm["config"]["served"] and len(arm["predictions"]) == 8  # type: ignore[index, arg-type]
        assert any(str(answer).strip() for answer in arm["predictions"])  # type: ignore[attr-defined]
    assert arms["rag"]["config"]["examples_shown"] in (2, 4)  # type: ignore[index]
    assert arms["rag"]["config"]["calls"]["calls"] == 2 * 4 + 8  # type: ignore[index]  # validation, then test


@pytest.mark.slow  # a minute; the served arms and the documents arm are each covered by default
def test_questions_on_documents_are_answered_by_the_served_model_from_the_passages(
    server_url: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    from tunewise.data.demo import document_set

    foldoc = document_set("foldoc")
    out = tmp_path / "documents"
    result = cli("compare", "--docs", foldoc.docs, "--data", foldoc.train, "--eval", foldoc.test, "--new-docs",
                 foldoc.new_docs, "--new-eval", foldoc.new_test, "--arms", "prompting,rag", "--lm", server_url,
                 "--no-probe", "--prompt-sample", "4", "--choice-sample", "3", "--out", str(out))  # fmt: skip
    assert result.code == 0, result.err
    arms = _arms(out)
    rag, prompting = arms["rag"], arms["prompting"]
    assert rag["status"] == "ok" and prompting["status"] == "ok", (rag["reason"], prompting["reason"])
    assert rag["config"]["served"] and rag["cost"]["tokens_in_per_call"] > prompting["cost"]["tokens_in_per_call"]  # type: ignore[index, operator]
    assert rag["metrics"]["token_f1"] > prompting["metrics"]["token_f1"]  # type: ignore[index, operator]
    assert rag["later"]["absorb_seconds"] > 0 and len(rag["later"]["predictions"]) == 4  # type: ignore[index, operator, arg-type]


def test_the_local_and_the_served_model_agree_on_fewshot_within_noise(
    server_url: str, cli: Callable[..., CliResult], tmp_path: Path
) -> None:
    """Same weights (the GGUF, de-quantised locally), same prompts, the same test sample: the
    examples shown narrow the choice, so the local likelihood and the server's constrained greedy
    choice cannot be told apart (exact McNemar on the examples both answered). Zero-shot they
    need not agree: locally a calibration is chosen on validation, which a server cannot give."""
    from compare.judge.statistics import mcnemar_exact

    right = {}
    for where, flags in (("local", []), ("served", ["--lm", server_url])):
        out = tmp_path / where
        result = cli("compare", "--data", "demo", "--arms", "fewshot", "--no-probe", *flags, *SAMPLE, "--out", str(out))
        assert result.code == 0, result.err
        saved = json.loads((out / "results.json").read_text())
        gold = dict(zip(saved["split"]["ids"]["test"], saved["test_labels"], strict=True))
        sample = saved["split"]["sample_ids"]
        right[where] = [p == gold[i] for i, p in zip(sample, saved["arms"][0]["predictions"], strict=True)]
    assert sum(right["served"]) > len(right["served"]) / 2  # far above chance (18 labels)
    assert mcnemar_exact(right["local"], right["served"]) >= 0.05, right


def test_a_stopped_comparison_keeps_what_the_server_answered(server_url: str, tmp_path: Path) -> None:
    out = tmp_path / "stopped"
    command = [sys.executable, "-m", "tui", "compare", "--data", "demo", "--arms", "prompting", "--lm", server_url,
               "--no-probe", "--prompt-sample", "60", "--choice-sample", "8", "--out", str(out)]  # fmt: skip
    env = os.environ | {"TUNEWISE_REGISTRY": str(tmp_path / "registry.sqlite")}
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert run.stderr is not None
    for line in run.stderr:
        if line.startswith("prompting..."):
            time.sleep(4)  # some answers in
            run.send_signal(signal.SIGINT)
            break
    _, rest = run.communicate(timeout=120)
    assert run.returncode == 130 and "interrupted" in rest, rest
    again = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    calls = _arms(out)["prompting"]["config"]["calls"]  # type: ignore[index]
    assert calls["cached"] > 0 and calls["calls"] + calls["cached"] == 2 * 8 + 60, calls  # nothing asked twice
