"""How torch's OpenMP threads wait, chosen before torch loads so that runs can share a CPU.

At each barrier of a parallel region, an OpenMP thread that finished early waits for its
siblings. GNU OpenMP (the library torch's CPU wheels ship) spins for a spell first, then sleeps.
Alone on the machine the spell is what keeps the next region's start fast; beside another job it
holds a core that job needs, and the sibling being waited for is the one pushed off its core.
Two MiniLM trainings on 2 cores did a tenth of the work of one alone with the default spell, and
1.3x of it with no spell at all, which cost one alone 6-17% of its speed. A short spell keeps
both (1.28x together, 2% alone; `benchmarks/bench_shared_cpu.py`, docs/benchmarks.md): the waits
inside one step are shorter than it, the waits for a sibling pushed off its core far longer.

The user's own settings always win: any of `USER_KEYS` in the environment leaves all of it alone.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, MutableMapping

USER_KEYS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
# Iterations a waiting thread spins before it sleeps (GNU OpenMP's default is 300,000; it
# falls to 1,000 only when there are more threads than cores).
SPIN_COUNT = 1_000


def openmp_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables tunewise adds to an environment: none where the user chose any of them."""
    if any(key in environ for key in USER_KEYS):
        return {}
    return {"GOMP_SPINCOUNT": str(SPIN_COUNT)}


def share_the_cores(environ: MutableMapping[str, str] = os.environ) -> None:
    """Set this process's OpenMP waiting; call it before anything imports torch."""
    environ.update(openmp_settings(environ))
