"""`tunewise bundle CONFIG --target sagemaker|vertex --out DIR`: a managed training job, ready to submit."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bundle",
        help="write a folder that SageMaker or Vertex AI runs as a custom training job of CONFIG",
        description=(
            "Write a folder that AWS SageMaker or Google Vertex AI runs as a custom training job: an entry point "
            "that trains CONFIG with the same code as `tunewise train`, reading the data and writing the model "
            "where the service says; copies of that code; the resolved config; pinned requirements; and a README "
            "with the commands that upload the data and submit the job. Nothing is sent anywhere."
        ),
    )
    parser.add_argument("config", type=Path, metavar="CONFIG", help="a YAML training config (as for tunewise train)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one key (repeatable; wins over CONFIG)")  # fmt: skip
    parser.add_argument("--target", choices=("sagemaker", "vertex"), required=True)
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to write (new or empty)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from harness.config import load_config
    from hosted.bundle import write_bundle

    bundle = write_bundle(load_config(args.config, args.overrides), args.target, args.out)
    print(f"wrote {bundle.folder} for {bundle.target}: train.py, config.yaml, requirements.txt, README.md")
    from tunewise.data.demo import is_demo

    upload = "" if is_demo(bundle.data_file) else f"upload {bundle.data_file}, then "
    print(f"next: {bundle.folder / 'README.md'} ({upload}submit)")
    return 0
