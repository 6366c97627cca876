"""The comparison: where the rooms meet, headless.

`compare.runner` freezes the split, fixes the advice first and runs each arm (retrieval and
prompted arms from `rag`, trained arms from `harness`); `compare.judge` turns the arms' results
into intervals, paired tests and the verdict; `compare.report` writes results.json, report.md and
report.html. The command line, `tunewise demo` and the app all call this room, so they judge the
same way; none of it imports Textual.
"""
