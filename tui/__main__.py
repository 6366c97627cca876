"""`python -m tui` runs the command line."""

from tui.cli import run

run()
