"""One model load at a time in a process.

transformers builds a model under process-wide patches (the meta device, `torch.nn.init` turned
into no-ops, `torch.linspace` redirected), so a model built in one thread while another thread
loads can come out on the meta device ("Cannot copy out of meta tensor; no data!") or with
untouched weights. The app loads in workers (the probe, a comparison, a training run), so every
load in tunewise holds `LOADING`. Using loaded models needs no lock.
"""

from __future__ import annotations

import threading

LOADING = threading.RLock()  # re-entrant: an adapter is loaded onto its base model inside one load
