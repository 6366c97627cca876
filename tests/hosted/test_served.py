"""Served models without a server: what `--lm` names, prices, the label rule, the break-even,
and a server that is not there (a real connection to a closed port on this machine)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest

from compare.judge.summary import break_even
from compare.results import ArmRecord
from hosted.labels import NO_LABEL, parse_label
from hosted.prices import token_price
from hosted.served import Endpoint, ServedLM, endpoint_of
from tests.conftest import CliResult
from tunewise.errors import ConfigError


def test_lm_names_a_local_model_a_server_or_a_hosted_model() -> None:
    assert endpoint_of("smollm2-135m-instruct") is None and endpoint_of(None) is None
    assert endpoint_of("openai:gpt-4o-mini") == Endpoint(None, "gpt-4o-mini", "OPENAI_API_KEY")
    served = endpoint_of("http://127.0.0.1:8080/v1/", model="smol", key_env="MY_KEY")
    assert served == Endpoint("http://127.0.0.1:8080/v1", "smol", "MY_KEY")
    assert served is not None and served.label == "http://127.0.0.1:8080/v1 (smol)"
    for bad, said in [
        ("openai:", "name the model"),
        ("http://", "not a server address"),
        ("http://me:sk-secret@127.0.0.1:8080/v1", "holds a user name or password"),
    ]:
        with pytest.raises(ConfigError, match=said):
            endpoint_of(bad)
    with pytest.raises(ConfigError, match="apply to a served one"):
        endpoint_of("smollm2-135m-instruct", model="x")


def test_the_key_is_read_from_the_variable_and_a_missing_one_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    hosted = endpoint_of("openai:gpt-4o-mini")
    assert hosted is not None
    with pytest.raises(ConfigError, match="set OPENAI_API_KEY to your API key"):
        hosted.key()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-value")
    assert hosted.key() == "sk-secret-value" and "sk-secret" not in hosted.label
    local = endpoint_of("http://127.0.0.1:8080/v1")
    assert local is not None and local.key() == "none"  # a server of one's own needs none


def test_prices_come_from_the_flags_the_table_or_nothing() -> None:
    assert token_price("gpt-4o-mini-2024-07-18", hosted=True).usd_in == 0.15  # the family, by prefix
    assert token_price("gpt-4o-2024-08-06", hosted=True).usd_out == 10.0  # not mistaken for gpt-4o-mini
    assert token_price("smol", hosted=False).usd(1e6, 1e6) == 0.0
    flagged = token_price("smol", hosted=False, usd_in=1.0, usd_out=2.0)
    assert flagged.usd(500, 100) == pytest.approx((500 * 1.0 + 100 * 2.0) / 1e6)
    with pytest.raises(ConfigError, match="no price on record; pass --price-in and --price-out"):
        token_price("o9-preview", hosted=True)
    with pytest.raises(ConfigError, match="--price-in must be 0 or more"):
        token_price("smol", hosted=False, usd_in=-1.0)


@pytest.mark.parametrize(
    ("answer", "label"),
    [
        ('{"label": "refund"}', "refund"),
        ("Refund.", "refund"),
        ("  card arrival ", "card arrival"),
        ("The label is: card arrival, I think", "card arrival"),
        ("refund? or card", "refund"),
        ("I cannot tell", NO_LABEL),
        ('{"label": "Refund"}', "refund"),
        ("", NO_LABEL),
    ],
)
def test_a_free_answer_is_read_by_one_fixed_rule(answer: str, label: str) -> None:
    assert parse_label(answer, ["refund", "card arrival", "card"]) == label


def test_the_earliest_label_named_wins_and_the_longer_at_the_same_place() -> None:
    labels = ["card", "card arrival", "refund"]
    assert parse_label("card arrival, not refund", labels) == "card arrival"
    assert parse_label("refund before the card", labels) == "refund"


def _arm(name: str, setup_usd: float, per_1000: float) -> ArmRecord:
    return ArmRecord.model_validate(
        {"name": name, "status": "ok", "cost": {"setup_usd": setup_usd, "usd_per_1000": per_1000}}
    )


def test_break_even_is_the_training_paid_back_by_cheaper_predictions() -> None:
    found = break_even([_arm("lora", 6.0, 0.5), _arm("prompting", 0.0, 3.5), _arm("head", 0.01, 0.1)])
    assert len(found) == 1  # head is no trained arm; prompting is the dearer one
    assert (found[0].trained, found[0].against) == ("lora", "prompting")
    assert found[0].predictions == pytest.approx(6.0 / (3.0 / 1000))  # 2,000 predictions
    assert break_even([_arm("lora", 6.0, 4.0), _arm("prompting", 0.0, 3.5)]) == []  # never pays back


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_server_there_is_one_line_before_any_data_is_read(cli: Callable[..., CliResult]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    endpoint = endpoint_of(url)
    assert endpoint is not None
    with pytest.raises(ConfigError, match="no server answers there"):
        ServedLM(endpoint, retries=0, timeout=5).connect()
    result = cli("compare", "--data", "no-such-file.csv", "--lm", url, "--arms", "prompting")
    assert result.code == 2 and "no server answers there" in result.err  # not the missing data file
    assert len(result.err.strip().splitlines()) == 1


def test_served_flags_are_checked_with_the_plan(cli: Callable[..., CliResult]) -> None:
    result = cli("compare", "--data", "demo", "--price-in", "1", "--arms", "rag")
    assert result.code == 2 and "give --lm URL or openai:MODEL" in result.err
    result = cli("compare", "--data", "demo", "--lm", "http://127.0.0.1:9/v1", "--lm-concurrency", "0")
    assert result.code == 2 and "--lm-concurrency must be at least 1" in result.err
