"""`tunewise models list|prepare|serve`: the built-in models, their one-time preparation, and the
built-in chat model served through OpenAI's protocol (for `--lm http://...`)."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("models", help="list and prepare models", description="List and prepare models.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="built-in aliases, where they come from, whether ready, size")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(run=run_list)
    prepare = actions.add_parser(
        "prepare",
        help="do the one-time work for a model (convert GGUF, download from the hub)",
        description="Do the one-time work for a model: convert a GGUF file to safetensors, or download a hub id.",
    )
    prepare.add_argument("names", nargs="+", metavar="NAME", help="alias, local folder or .gguf file, or hub id")
    prepare.set_defaults(run=run_prepare)
    serve = actions.add_parser(
        "serve",
        help="serve the built-in chat model on this machine through OpenAI's protocol (needs the serve extra)",
        description="Serve smollm2-135m-instruct with llama-cpp-python's OpenAI-compatible server until Ctrl-C, "
        "for `tunewise compare --lm http://127.0.0.1:PORT/v1`. Needs: pip install 'tunewise[serve]'.",
    )
    serve.add_argument("--port", type=int, default=8080, help="the loopback port (default: 8080)")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess
    import sys

    from hosted.llama_server import builtin_gguf, server_command
    from tunewise.errors import ConfigError

    if importlib.util.find_spec("llama_cpp") is None:
        raise ConfigError("serving needs llama-cpp-python's server: pip install 'tunewise[serve]'")
    if not 0 < args.port < 65536:
        raise ConfigError(f"--port {args.port}: give a port from 1 to 65535")
    print(f"serving at http://127.0.0.1:{args.port}/v1 (model smollm2); Ctrl-C stops it", file=sys.stderr)
    try:
        return subprocess.call(server_command(builtin_gguf(), args.port))
    except KeyboardInterrupt:
        return 0


def run_list(args: argparse.Namespace) -> int:
    from tunewise.models import list_models
    from tunewise.units import human_bytes

    statuses = list_models()
    if args.json:
        rows = [
            {
                "alias": s.alias,
                "kind": s.kind,
                "origin": s.origin,
                "ready": s.ready,
                "size_bytes": s.size_bytes,
                "path": str(s.path) if s.path else None,
                "detail": s.detail,
            }
            for s in statuses
        ]
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="built-in models", title_justify="left")
    for column in ("alias", "kind", "ready", "size"):
        table.add_column(column, no_wrap=True, min_width=len(column))
    table.add_column("from", overflow="fold")
    for s in statuses:
        ready = "[green]yes[/]" if s.ready else "[yellow]no[/]"
        table.add_row(s.alias, s.kind, ready, human_bytes(s.size_bytes), s.origin)
    console = Console()
    console.print(table)
    # Paths are long: one line each under the table instead of a squeezed column.
    for s in statuses:
        console.print(f"[bold]{s.alias}[/]: {s.detail}", soft_wrap=True)
    return 0


def run_prepare(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    from tunewise.model_files import check_loadable
    from tunewise.models import check_model_name, prepare_model

    for name in args.names:
        check_model_name(name)  # a typo in the last name must not wait behind a long conversion
    console = Console(stderr=True)
    for name in args.names:
        stages: set[str] = set()
        with Progress(
            TextColumn("[bold]{task.fields[model]}"),
            BarColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("resolving", total=1.0, model=name)

            def advance(stage: str, fraction: float, task_id: TaskID = task, seen: set[str] = stages) -> None:
                seen.add(stage)
                bar.update(task_id, description=stage, completed=fraction)

            resolved = prepare_model(name, progress=advance)
        if resolved.source != "builtin":
            check_loadable(resolved.path)  # "ready" must mean it loads: not damaged, not asking to run code
        how = " (converted)" if "writing safetensors" in stages else ""
        print(f"{name}: ready at {resolved.path}{how}")
    return 0
