"""The Textual front end and the command line, thin layers over `advisor`, `harness` and `rag`."""
