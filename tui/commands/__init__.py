"""One module per `tunewise` command: `add_parser` declares it, `run` carries it out."""
