"""The retrieval arm on real embeddings: build, query, classify, add, and refuse bad input."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from rag import index as rag_index
from rag.chunking import chunk_documents
from rag.embed import Embedder
from rag.evaluate import evaluate_classification
from rag.index import BuildOptions, add_to_index, build_index, load_index
from rag.knn import predict, vote
from tests.conftest import CliResult
from tunewise.data.shapes import to_dataset
from tunewise.data.task import DataSpec, load_task_data, open_table
from tunewise.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo training split, indexed once for the module."""
    data = load_task_data(DataSpec())
    out = tmp_path_factory.mktemp("index") / "demo"
    build_index(data.train, out)
    return out


def test_embeddings_are_unit_vectors_and_match_sentence_transformers() -> None:
    from sentence_transformers import SentenceTransformer

    from tunewise.models import resolve_model

    embedder = Embedder()
    texts = ["How do I reset my password?", "What's the weather like?", "a"]
    ours = embedder.encode(texts)
    reference = SentenceTransformer(str(resolve_model("minilm-l6").path), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert ours.shape == (3, 384) and ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(ours, reference, atol=1e-5)
    streamed = np.concatenate(list(embedder.stream(texts, slice_size=2)))
    np.testing.assert_allclose(streamed, ours, atol=1e-6)


def test_demo_index_classifies_the_held_out_split(demo_index: Path) -> None:
    index = load_index(demo_index)
    manifest = index.manifest
    assert manifest["kind"] == "labelled"
    assert manifest["index"]["type"] == "flat"
    assert manifest["embedding"] == {"model": "minilm-l6", "dim": 384, "max_tokens": 256, "normalised": "l2"}
    assert manifest["knn"]["k"] in (1, 3, 5, 10, 20)
    data = load_task_data(DataSpec())
    result = evaluate_classification(index, data.eval)
    # 18 topics; chance is about 0.06 and always answering "trivia" scores about 0.35
    assert result.metrics["accuracy"] > 0.5, result.metrics
    assert 0 < result.metrics["macro_f1"] <= result.metrics["accuracy"] + 0.3
    assert len(result.predictions) == len(data.eval)


def test_a_query_finds_its_own_text_first(demo_index: Path) -> None:
    index = load_index(demo_index)
    record = index.records[7]
    votes = predict(index, Embedder().encode([record["text"]]), 3)
    assert votes[0].neighbours[0].id == record["id"]
    assert votes[0].neighbours[0].score == pytest.approx(1.0, abs=1e-4)


def test_vote_weights_by_similarity() -> None:
    assert vote(["a", "b", "b"], [0.9, 0.3, 0.3]) == ("a", pytest.approx(0.9 / 1.5, abs=1e-3))
    assert vote(["a", "b"], [0.5, 0.5])[0] == "a"  # a tie goes to the nearer neighbour


def test_documents_are_chunked_with_overlap(tmp_path: Path) -> None:
    embedder = Embedder()
    text = " ".join(f"word{i}" for i in range(600))
    chunks = next(chunk_documents([text], embedder.tokenizer, chunk_tokens=100, overlap=20))
    assert len(chunks) > 3
    for chunk in chunks:
        assert len(embedder.tokenizer(chunk.text, add_special_tokens=False)["input_ids"]) <= 100
    first_end = chunks[0].text.split()[-3:]
    assert " ".join(first_end) in chunks[1].text  # the overlap repeats the boundary
    assert chunks[-1].text.endswith("word599")


def test_document_index_and_adding_without_rebuilding(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "paris.txt").write_text("Paris is the capital of France. The Eiffel Tower stands in Paris.")
    (docs / "python.md").write_text("# Python\nPython is a programming language created by Guido van Rossum.")
    out = tmp_path / "index"
    built = build_index(to_dataset(open_table(str(docs))), out)
    assert (built.kind, built.size) == ("documents", 2)
    before = (out / "index.faiss").read_bytes()
    more = tmp_path / "more"
    more.mkdir()
    (more / "rome.txt").write_text("Rome is the capital of Italy, home of the Colosseum.")
    added = add_to_index(out, to_dataset(open_table(str(more))))
    assert added.size == 3
    assert added.manifest["counts"] == {"vectors": 3, "sources": 3}
    assert (out / "index.faiss").read_bytes() != before
    embedder = Embedder()
    _, positions = added.search(embedder.encode(["Which city has the Colosseum?"]), 1)
    assert added.records[positions[0][0]]["doc"] == "rome.txt"


def test_a_crash_mid_build_leaves_the_previous_index(
    demo_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "kept"
    shutil.copytree(demo_index, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def crash(*args: object, **kwargs: object) -> None:
        raise OSError("No space left on device")

    monkeypatch.setattr(rag_index, "_file_facts", crash)  # fails after the index file is written
    data = load_task_data(DataSpec())
    with pytest.raises(OSError, match="No space left"):
        build_index(data.eval, target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "index.faiss").write_bytes((d / "index.faiss").read_bytes()[:-100]), "changed or truncated"),
        (lambda d: (d / "records.jsonl").write_text('{"id": "x", "text": "y"}\n'), "changed or truncated"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest is damaged"),
        (lambda d: (d / "manifest.json").unlink(), "not a tunewise index"),
        (lambda d: (d / "records.jsonl").unlink(), "missing from the index"),
        # Damage that the checksums cannot see, because the manifest was rewritten to match it.
        (lambda d: _resealed(d, "index.faiss", b"not a faiss index" * 10), "index.faiss: not a readable FAISS index"),
        (lambda d: _resealed(d, "records.jsonl", b'{"id": "a", "text"\n'), r"records.jsonl:1: not a JSON record"),
        (
            lambda d: _resealed(d, "records.jsonl", b'{"id": "a"}\n'),
            r"records.jsonl:1: a labelled record needs id, text",
        ),
        (lambda d: _resealed(d, "records.jsonl", b"\xff\xfe\n"), "records.jsonl: not UTF-8"),
    ],
)
def test_a_damaged_index_is_refused(
    demo_index: Path, tmp_path: Path, damage: Callable[[Path], object], message: str
) -> None:
    broken = tmp_path / "broken"
    shutil.copytree(demo_index, broken)
    damage(broken)
    with pytest.raises(DataError, match=message):
        load_index(broken)


def _resealed(folder: Path, name: str, content: bytes) -> None:
    """Replace one index file and rewrite the manifest's size and checksum to match it."""
    (folder / name).write_bytes(content)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"][name] = rag_index._file_facts(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_another_embedding_model_is_refused(demo_index: Path) -> None:
    with pytest.raises(ConfigError, match="built with embedding model 'minilm-l6'"):
        load_index(demo_index, expect_model="bge-small")


def test_k_larger_than_the_index(demo_index: Path) -> None:
    index = load_index(demo_index)
    with pytest.raises(ConfigError, match=f"larger than the index \\({index.size} vectors\\)"):
        index.search(np.zeros((1, 384), dtype=np.float32), index.size + 1)


def test_chunking_options_are_checked(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("some text")
    dataset = to_dataset(open_table(str(tmp_path / "d.txt")))
    with pytest.raises(ConfigError, match="--chunk-overlap"):
        build_index(dataset, tmp_path / "i", BuildOptions(chunk_tokens=50, chunk_overlap=50))
    with pytest.raises(ConfigError, match="--chunk-tokens 400 is more than the embedding model reads"):
        build_index(dataset, tmp_path / "i", BuildOptions(chunk_tokens=400))
    assert not (tmp_path / "i").exists()


# ---------------------------------------------------------------------------- the command line


def test_cli_build_query_eval(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    data = tmp_path / "train.csv"
    rows = ["text,label"] + [f"how do I pay my {w} bill,billing" for w in ("phone", "gas", "water", "power")]
    rows += [f"my {w} is broken,repair" for w in ("phone", "boiler", "tap", "oven")]
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "idx"
    built = cli("rag", "build", data, "--out", out)
    assert built.code == 0, built.err
    assert "8 vectors" in built.out
    query = cli("rag", "query", out, "the washing machine is broken", "--k", "3", "--json")
    assert query.code == 0, query.err
    assert json.loads(query.out)["label"] == "repair"
    inside = cli("rag", "eval", out, "--data", data, "--json")
    assert inside.code == 2 and "8 of 8 eval examples are already in the index" in inside.err, inside.err
    assert "--allow-overlap" in inside.err and inside.out == ""
    evaluation = cli("rag", "eval", out, "--data", data, "--json", "--out", tmp_path / "result.json", "--allow-overlap")
    assert evaluation.code == 0, evaluation.err
    assert "warning: 8 of 8 eval examples are already in the index" in evaluation.err
    assert set(json.loads(evaluation.out)["metrics"]) == {"accuracy", "macro_f1"}
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved["arm"] == "rag" and len(saved["predictions"]) == 8
    held_out = tmp_path / "held_out.csv"
    held_out.write_text("text,label\nhow do I settle my internet invoice,billing\nthe fridge stopped working,repair\n")
    fresh = cli("rag", "eval", out, "--data", held_out, "--json")
    assert fresh.code == 0 and "warning" not in fresh.err, fresh.err


@pytest.mark.parametrize(
    "args, words",
    [
        (["rag", "query", "{missing}", "hello"], ["no such index folder", "tunewise rag build"]),
        (["rag", "query", "{index}", "hello", "--k", "100000"], ["larger than the index"]),
        (["rag", "query", "{index}", "hello", "--model", "other-model"], ["built with embedding model 'minilm-l6'"]),
        (["rag", "build", "{empty}", "--out", "{new}"], ["empty"]),
        (["rag", "build", "{baddoc}", "--out", "{new}"], ["bad.txt:1", "UTF-8"]),
        (["rag", "eval", "{index}"], ["--data EVAL"]),
    ],
)
def test_cli_bad_input(
    args: list[str], words: list[str], demo_index: Path, tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    (tmp_path / "empty.csv").write_text("text,label\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "bad.txt").write_bytes(b"caf\xe9")
    places = {
        "missing": tmp_path / "nope",
        "index": demo_index,
        "empty": tmp_path / "empty.csv",
        "baddoc": tmp_path / "docs",
        "new": tmp_path / "new-index",
    }
    result = cli(*[a.format(**places) for a in args])
    assert result.code == 2, result
    assert len(result.err.strip().splitlines()) == 1, result.err
    for word in words:
        assert word in result.err
    assert not (tmp_path / "new-index").exists()
