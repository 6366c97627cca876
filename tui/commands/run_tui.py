"""`tunewise tui [DATA]` (also plain `tunewise`): the interactive app."""

from __future__ import annotations

import argparse

from tui.commands.common import add_data_arguments, data_spec


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "tui", help="open the interactive app (the default command)", description="Open the interactive app."
    )
    add_data_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from tui.app import TunewiseApp

    TunewiseApp(data_spec(args)).run()
    return 0
