"""The flags that put a comparison on the user's documents: `--docs`, `--new-docs`, `--new-eval`.

`compare` and `demo` share them. `--docs NAME` names a built-in documents set (`foldoc`), whose
questions and later knowledge fill whichever of `--data`, `--eval`, `--new-docs` and
`--new-eval` were not given.
"""

from __future__ import annotations

import argparse

from compare.plan import DocumentsChoice
from tunewise.data.demo import DOCUMENT_SETS, document_set, is_document_set
from tunewise.errors import ConfigError


def add_document_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--docs",
        metavar="FOLDER",
        help="the documents the answers draw on (a folder of .txt/.md, or rows with a text column): compares closed-book "
        f"prompting, RAG over them, fine-tuning and both; or a built-in set: {', '.join(DOCUMENT_SETS)}",
    )
    parser.add_argument(
        "--new-docs", metavar="FOLDER", help="documents that arrive after the arms are built (with --new-eval)"
    )
    parser.add_argument(
        "--new-eval", metavar="QA", help="questions only the new documents answer: each arm is scored on them apart"
    )


def document_flags(args: argparse.Namespace, default_data: str = "demo") -> DocumentsChoice:
    """The documents the flags name, with a built-in set's files filled in; sets `args.data` (and
    `args.eval_path`) to the set's questions where they were not given."""
    docs, new_docs, new_eval = args.docs, args.new_docs, args.new_eval
    if is_document_set(docs):
        files = document_set(docs)
        docs = files.docs
        args.data = args.data or files.train
        if args.data == files.train:
            args.eval_path = args.eval_path or files.test
        if new_docs is None and new_eval is None:
            new_docs, new_eval = files.new_docs, files.new_test
    if docs is not None and args.data is None:
        raise ConfigError("--docs needs --data: questions about the documents, with reference answers")
    args.data = args.data or default_data
    return DocumentsChoice(docs, new_docs, new_eval)
