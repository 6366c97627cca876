"""Model loads take turns: transformers patches process-wide state while it builds a model, and
two loads that interleave can leave a patch in place for good (every later model then comes out
on the meta device), which the app hit when new data was chosen while the probe was loading."""

from __future__ import annotations

import threading

from rag.embed import Embedder
from tunewise.loading import LOADING


def test_a_load_waits_while_another_thread_is_loading() -> None:
    loaded = threading.Event()

    def load() -> None:
        Embedder("minilm-l6")
        loaded.set()

    with LOADING:  # another thread in the middle of a load
        worker = threading.Thread(target=load)
        worker.start()
        assert not loaded.wait(1.5), "the model was built while another load held the lock"
    assert loaded.wait(120)
    worker.join()
