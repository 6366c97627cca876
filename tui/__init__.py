"""The Textual front end and the command line: presentation over `compare`, `advisor`, `harness` and `rag`."""
