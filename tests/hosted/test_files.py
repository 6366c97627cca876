"""OpenAI fine-tuning files: export from any data, validation with line numbers, token counts and cost."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hosted.prices import job_cost
from hosted.tokens import ENCODING_FILES, message_tokens, seed_tiktoken_cache, text_tokens
from hosted.validate import validate_file
from tests.conftest import CliResult


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(
    ("data", "fmt", "first_keys"),
    [
        ("demo", "openai-chat", {"messages"}),
        ("demo-qa", "openai-chat", {"messages"}),
        ("demo-qa", "openai-completion", {"prompt", "completion"}),
    ],
)
def test_the_demo_sets_round_trip_through_export_and_validate(
    cli: Callable[..., CliResult], tmp_path: Path, data: str, fmt: str, first_keys: set[str]
) -> None:
    out = tmp_path / "train.jsonl"
    exported = cli("export", data, "--format", fmt, "--out", out, "--system", "You answer briefly.")
    assert exported.code == 0, exported.err
    train, validation = _lines(out), _lines(tmp_path / "train_validation.jsonl")
    profile = cli("profile", data, "--json")
    split = json.loads(profile.out)["split"]
    assert (len(train), len(validation)) == (split["n_train"], split["n_eval"])  # the standard split
    assert set(train[0]) == first_keys
    if fmt == "openai-chat":
        roles = [m["role"] for m in train[0]["messages"]]  # type: ignore[union-attr]
        assert roles == ["system", "user", "assistant"]
    model = "gpt-4o-mini-2024-07-18" if fmt == "openai-chat" else "davinci-002"
    checked = cli("validate", out, "--for", "openai", "--model", model, "--json")
    report = json.loads(checked.out)
    assert checked.code == 0 and report["ok"] and report["errors"] == []
    assert report["examples"] == len(train)
    assert report["cost"]["billed_tokens"] == report["tokens"]["total"] * 3


def test_labelled_rows_become_a_user_text_and_an_assistant_label(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    data = tmp_path / "intents.csv"
    data.write_text("text,label\n" + "".join(f"message {i},{'refund' if i % 2 else 'card'}\n" for i in range(30)))
    out = tmp_path / "intents.jsonl"
    assert cli("export", data, "--out", out).code == 0
    pairs = {
        (line["messages"][0]["content"], line["messages"][1]["content"])  # type: ignore[index]
        for line in _lines(out) + _lines(tmp_path / "intents_validation.jsonl")
    }
    assert pairs == {(f"message {i}", "refund" if i % 2 else "card") for i in range(30)}


GOOD = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}


def _planted(path: Path) -> None:
    good = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": f"A{i}"}]}
            for i in range(12)]  # fmt: skip
    lines = [json.dumps(g) for g in good[:2]]
    lines += [
        '{"messages": [{"role": "user", "content": "unclosed"}',  # 3: bad JSON
        json.dumps({"messages": [{"role": "customer", "content": "Hi"}, {"role": "assistant", "content": "Yo"}]}),  # 4
        json.dumps({"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "Yo"}]}),  # 5
        json.dumps({"messages": [{"role": "user", "content": "Only a question"}]}),  # 6: no assistant
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "Q"},
                    {"role": "system", "content": "Be kind"},
                    {"role": "assistant", "content": "A"},
                ]
            }
        ),  # 7: system in the middle
        json.dumps(good[0]),  # 8: the same as line 1
        json.dumps(
            {"messages": [{"role": "user", "content": "word " * 17_000}, {"role": "assistant", "content": "ok"}]}
        ),
        "",  # 10: empty line
        json.dumps(
            {"messages": [{"role": "user", "content": "Q"}, {"role": "assistant", "content": "A", "weight": 2}]}
        ),
        json.dumps({"prompt": "Q", "completion": "A"}),  # 12: the other format
    ]
    lines += [json.dumps(g) for g in good[2:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_a_chat_file_with_planted_errors_reports_each_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "planted.jsonl"
    _planted(path)
    report = validate_file(path, model="gpt-3.5-turbo-0125", epochs=2)
    errors = {(p.line, p.message) for p in report.errors}
    assert any(line == 3 and m.startswith("not valid JSON") for line, m in errors)
    assert any(line == 4 and 'role "customer"' in m for line, m in errors)
    assert any(line == 5 and "no content" in m for line, m in errors)
    assert any(line == 6 and "no assistant message" in m for line, m in errors)
    assert any(line == 7 and "system message after the first turn" in m for line, m in errors)
    assert (10, "empty line; remove it") in errors
    assert any(line == 11 and "weight must be 0 or 1" in m for line, m in errors)
    assert any(line == 0 and "mixes chat lines" in m for line, m in errors)
    warnings = {(p.line, p.message) for p in report.warnings}
    assert (8, "the same example as line 1") in warnings
    assert any(line == 9 and "over gpt-3.5-turbo-0125's 16,385" in m for line, m in warnings)
    # Nothing is reported on the good lines.
    assert not [p for p in report.problems if p.line in (1, 2, 13, 14)]


def test_validate_exits_1_with_every_problem_named_and_2_on_an_unreadable_file(
    tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    path = tmp_path / "planted.jsonl"
    _planted(path)
    result = cli("validate", path, "--model", "gpt-3.5-turbo-0125")
    assert result.code == 1
    assert f"{path}:3: error: not valid JSON" in result.out
    assert f"{path}:8: warning: the same example as line 1" in result.out
    assert "the service would refuse this file" in result.out

    few = tmp_path / "few.jsonl"
    few.write_text("\n".join(json.dumps(GOOD) for _ in range(3)) + "\n")
    small = cli("validate", few, "--json")
    assert small.code == 1
    assert any("needs at least 10" in e["message"] for e in json.loads(small.out)["errors"])

    missing = cli("validate", tmp_path / "nope.jsonl")
    assert missing.code == 2 and "nope.jsonl: no such file" in missing.err
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(json.dumps(GOOD).encode() + b"\n" + '{"prompt": "caf\xe9"}'.encode("latin-1") + b"\n")
    assert "latin.jsonl:2: byte 0xe9 at column 16 is not UTF-8" in cli("validate", latin).err


def test_cost_is_file_tokens_times_epochs_times_the_price(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    cost = job_cost("gpt-4o-mini-2024-07-18", 100_000, 4)
    assert cost.billed_tokens == 400_000 and cost.dollars == pytest.approx(0.4 * cost.price_per_1m)
    assert job_cost("my-model", 2_000_000, 2, price_per_1m=10.0).dollars == pytest.approx(40.0)
    path = tmp_path / "ten.jsonl"
    path.write_text("\n".join(json.dumps(GOOD) for _ in range(10)) + "\n")
    unknown = cli("validate", path, "--model", "acme-9")
    assert unknown.code == 2 and "no price on record for 'acme-9'; pass --price-per-1m-tokens" in unknown.err
    priced = json.loads(cli("validate", path, "--model", "acme-9", "--price-per-1m-tokens", "2", "--json").out)
    assert priced["cost"]["usd"] == pytest.approx(priced["tokens"]["total"] * 3 * 2 / 1e6, abs=1e-4)


def test_export_refuses_what_has_no_such_form_and_writes_nothing(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    chats = tmp_path / "chats.jsonl"
    turns = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    rows = [{"messages": turns} for _ in range(20)] + [{"messages": turns * 2}]
    chats.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "out.jsonl"
    refused = cli("export", chats, "--format", "openai-completion", "--out", out, "--eval-fraction", "0.1")
    assert refused.code == 2 and "chats.jsonl:21: a conversation of 4 turns" in refused.err
    assert not out.exists() and not (tmp_path / "out_validation.jsonl").exists()
    assert "should end in .jsonl" in cli("export", "demo", "--out", tmp_path / "x.csv").err


def test_token_counts_load_offline_from_the_packaged_encoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    seed_tiktoken_cache("o200k_base")
    url, expected = ENCODING_FILES["o200k_base"]
    cached = tmp_path / hashlib.sha1(url.encode()).hexdigest()
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == expected
    assert text_tokens("hello world") == 2
    # 3 per conversation, 3 per message, and the role's and content's own tokens.
    assert message_tokens([{"role": "user", "content": "hello world"}]) == 3 + 3 + 1 + 2


def test_export_never_writes_over_the_users_files_unless_asked(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps({"prompt": f"q{i}", "completion": f"a{i}"}) + "\n" for i in range(30)))
    original = data.read_bytes()
    onto_input = cli("export", data, "--out", data, "--overwrite")
    assert onto_input.code == 2 and "is the data being exported" in onto_input.err
    assert data.read_bytes() == original

    mine = tmp_path / "mine_validation.jsonl"
    mine.write_text("my own notes\n")
    taken = cli("export", data, "--out", tmp_path / "mine.jsonl")
    assert taken.code == 2 and "mine_validation.jsonl already exists" in taken.err
    assert mine.read_text() == "my own notes\n" and not (tmp_path / "mine.jsonl").exists()
    replaced = cli("export", data, "--out", tmp_path / "mine.jsonl", "--overwrite")
    assert replaced.code == 0 and "my own notes" not in mine.read_text()
