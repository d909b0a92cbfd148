"""Rebuild a shipped int8 reader's graph with fused attention, from its own int8 weights.

    python scripts/refuse_reader.py                      # the shipped reader, in place
    python scripts/refuse_reader.py --model DIR --out DIR

Why. Reader v2 was exported with PyTorch's SDPA attention, a pattern ONNX Runtime's optimiser
does not fuse, so each layer's attention ran as some 20 small operators (bench/RESULTS.md,
section 10). `train_reader.py` now exports eagerly, which fuses it, but only a new training
goes through that export, and v2's full-precision weights were not kept.

How. Every weight of the int8 graph is dequantised (embeddings, and each MatMul's per-channel
int8 matrix, named by its node: `/bert/encoder/layer.0/attention/self/query/MatMul_quant` is
`bert.encoder.layer.0.attention.self.query.weight`); LayerNorm and bias tensors are float
already. Loaded into the same BERT classifier, the model goes through `train_reader`'s own
export (eager attention, ONNX Runtime's fusions, per-channel int8). Re-quantising a dequantised
matrix gives back the same int8 values and scales, so the weights are v2's.

The embeddings' layer is left unfused, as v2 had it. Fused, ONNX Runtime quantises its LayerNorm
weights too, and the logits moved 0.13 on average from the shipped graph's (as far as int8 is
from full precision, in another direction), enough to change the fitted decision and the eval
figures. Unfused they move 0.02 (bundled-article pairs; bench/RESULTS.md, section 10), so the
calibrator fitted on the shipped graph still holds; the card's figures are re-measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from train_reader import export_onnx, fused_operators  # noqa: E402

from qa_bot.reader import MODEL_DIR  # noqa: E402

QUANTISED = "_quantized"


def dequantised_weights(model: Path) -> dict:
    """The float weights of an int8 reader graph, by the name PyTorch's BERT gives them."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(model)).graph
    tensors = {t.name: numpy_helper.to_array(t) for t in graph.initializer}

    def dequantise(base: str):
        values = tensors[base + QUANTISED].astype(np.float32)
        zero = tensors[base + "_zero_point"].astype(np.float32)
        return (values - zero) * tensors[base + "_scale"]

    weights = {
        name: array
        for name, array in tensors.items()
        if name.startswith(("bert.", "classifier."))
        and array.dtype == np.float32
        and not name.endswith(("_scale", "_zero_point"))
    }
    for part in ("word", "position", "token_type"):
        name = f"bert.embeddings.{part}_embeddings.weight"
        weights[name] = dequantise(name)
    for node in graph.node:
        if node.op_type == "QAttention":  # a fused graph: query, key and value in one matrix
            layer = f"bert.encoder.layer.{int(node.name.split('_')[1])}.attention.self"
            matrix = dequantise(node.input[1].removesuffix(QUANTISED))  # [in, 3 * out]
            bias = tensors[node.input[2]]
            for part, rows, values in zip(
                ("query", "key", "value"),
                np.split(matrix, 3, axis=1),
                np.split(bias, 3),
                strict=True,
            ):
                weights[f"{layer}.{part}.weight"] = np.ascontiguousarray(rows.T)
                weights[f"{layer}.{part}.bias"] = values
            continue
        if node.op_type != "MatMulInteger":
            continue
        # "/bert/pooler/dense/Gemm_MatMul_quant" -> "bert.pooler.dense.weight"
        module = node.name.rsplit("/", 1)[0].strip("/").replace("/", ".")
        matrix = dequantise(node.input[1].removesuffix(QUANTISED))  # [in, out]
        weights[module + ".weight"] = np.ascontiguousarray(matrix.T)
    return weights


def from_int8(folder: Path):
    """An int8 reader as a trainable BERT classifier, with its tokenizer: the graph's weights
    dequantised by node name (`train_reader.py --init-from` goes on training from it)."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig.from_pretrained(folder))
    found = dequantised_weights(folder / "model.onnx")
    weights = {k: torch.from_numpy(v.copy()) for k, v in found.items()}
    missing, unexpected = model.load_state_dict(weights, strict=False)
    if missing or unexpected:
        raise SystemExit(
            f"the graph's weights do not fit BERT: missing {missing}, extra {unexpected}"
        )
    return model, AutoTokenizer.from_pretrained(folder)


def rebuild(model_dir: Path, out: Path) -> None:
    model, tokenizer = from_int8(model_dir)
    max_length = json.loads((model_dir / "reader.json").read_text(encoding="utf-8"))["max_length"]
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "model"
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        built = Path(scratch) / "built"
        export_onnx(folder, built, max_length, fuse_embeddings=False)
        out.mkdir(parents=True, exist_ok=True)
        # Only the graph changes: the tokenizer, config and card stay the shipped ones.
        shutil.copy(built / "model.onnx", out / "model.onnx")
    for name in ("tokenizer.json", "tokenizer_config.json", "config.json", "reader.json"):
        if (model_dir / name).is_file() and model_dir.resolve() != out.resolve():
            shutil.copy(model_dir / name, out / name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=MODEL_DIR, help="the int8 reader to rebuild")
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="where model.onnx goes")
    args = parser.parse_args(argv)
    if "attention" in fused_operators(args.model / "model.onnx"):
        print(f"{args.model / 'model.onnx'} already runs attention fused: nothing to rebuild")
        return 0
    rebuild(args.model, args.out)
    print(f"wrote {args.out / 'model.onnx'}: fused {fused_operators(args.out / 'model.onnx')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
