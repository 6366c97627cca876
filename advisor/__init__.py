"""tunewise's domain core: data, models, recommendations and estimates.

Importing this package is cheap on purpose: torch, transformers, faiss and textual are
imported only inside the functions that need them.
"""

__version__ = "0.1.0"
