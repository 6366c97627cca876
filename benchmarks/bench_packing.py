"""Tokens a training step carries, unpacked against packed, on the same examples.

    python benchmarks/bench_packing.py [--data demo-qa] [--batch 8] [--max-length 512]

Tokenises the data as `tunewise train` does for instruction tuning (SmolLM2's chat template),
then counts, per optimizer step of `--batch` items: the real tokens an unpacked batch carries
(one example an item) and those a packed batch carries (one row of whole examples up to
`--max-length` an item). The ratio is the work a step does per launch of the GPU's kernels, the
point of packing; no training runs, so the figure does not depend on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="demo-qa")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=512)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    from harness.config import build_config
    from harness.examples import encode, load_examples_data
    from harness.packing import PackedDataset
    from tunewise.models import resolve_model

    config = build_config({"data": args.data, "method": "lora", "max_length": args.max_length})
    resolved = resolve_model(config.base_model or "smollm2-135m-instruct")
    tokenizer = AutoTokenizer.from_pretrained(resolved.path)
    examples = encode(config, load_examples_data(config), tokenizer, resolved.path, None)
    lengths = [len(e["input_ids"]) for e in examples.train]
    packed = PackedDataset(examples.train, args.max_length)
    unpacked_step = args.batch * statistics.fmean(lengths)
    packed_step = args.batch * packed.tokens / len(packed)
    print(f"data {args.data}: {len(lengths):,} training examples, {packed.tokens:,} tokens, "
          f"median {statistics.median(lengths):.0f} a example")  # fmt: skip
    print(f"unpacked: {len(lengths):,} items, {unpacked_step:,.0f} tokens a step of {args.batch}")
    print(f"packed:   {len(packed):,} rows of <= {args.max_length}, {packed_step:,.0f} tokens a step "
          f"({packed.fill(args.max_length):.0%} of the rows filled)")  # fmt: skip
    print(f"ratio packed / unpacked tokens a step: {packed_step / unpacked_step:.1f}x")


if __name__ == "__main__":
    main()
