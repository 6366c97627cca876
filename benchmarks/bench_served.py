"""Prompting a served model: calls at once (`--lm-concurrency`) against one call at a time.

Starts llama-cpp-python's server on the built-in SmolLM2 GGUF (the `serve` extra), then asks it
for the label of the same demo examples, zero-shot and constrained to the label set, with no
reply cache: one call at a time, then N at once, alternating, best of the rounds. Prints calls
per second, latency per call, tokens, and the ratio, all from this one run.

    python benchmarks/bench_served.py [--examples 48] [--concurrency 4] [--rounds 2]
"""

from __future__ import annotations

import argparse
import functools
import time

import numpy as np

from hosted.labels import LabelAsker
from hosted.llama_server import running_server
from hosted.served import Reply, ServedLM, endpoint_of
from hosted.served_arms import ask_all, messages
from rag.prompted import TEMPLATES
from tunewise.data.task import DataSpec, load_task_data


def _round(lm: ServedLM, texts: list[str], labels: list[str]) -> tuple[float, list[Reply], list[str]]:
    asker = LabelAsker(lm, labels, way="json_object")  # what this server takes; found before timing
    template = TEMPLATES["instruction"]
    asks = [functools.partial(asker.ask, messages(*template.turns(text, labels))) for text in texts]
    started = time.perf_counter()
    answered = ask_all(asker, asks)
    return time.perf_counter() - started, [reply for _, reply in answered], [label for label, _ in answered]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=48)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    data = load_task_data(DataSpec(path="demo"))
    labels = sorted(set(data.train.labels() or []))
    texts = [str(r["text"]) for r in data.eval.records[: args.examples]]
    with running_server() as server:
        endpoint = endpoint_of(server.url)
        assert endpoint is not None
        lms = {n: ServedLM(endpoint, concurrency=n).connect() for n in (1, args.concurrency)}
        _round(lms[1], texts[:2], labels)  # warm: the model's first pass
        best: dict[int, tuple[float, list[Reply], list[str]]] = {}
        for _ in range(args.rounds):
            for n, lm in lms.items():
                measured = _round(lm, texts, labels)
                if n not in best or measured[0] < best[n][0]:
                    best[n] = measured
    print(f"{len(texts)} demo examples, {len(labels)} labels, zero-shot, constrained (json_object), no cache")
    for n, (seconds, replies, _) in best.items():
        latency = [reply.seconds for reply in replies]
        print(
            f"  concurrency {n}: {len(texts) / seconds:5.2f} calls/s  latency p50 {np.percentile(latency, 50):.2f} s "
            f"p95 {np.percentile(latency, 95):.2f} s  tokens in/out per call "
            f"{np.mean([r.tokens_in for r in replies]):.0f}/{np.mean([r.tokens_out for r in replies]):.1f}"
        )
    one, many = best[1], best[args.concurrency]
    same = sum(a == b for a, b in zip(one[2], many[2], strict=True))
    print(f"  speed-up at concurrency {args.concurrency}: {one[0] / many[0]:.2f}x; same labels: {same}/{len(texts)}")


if __name__ == "__main__":
    main()
