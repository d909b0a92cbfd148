"""The trained reader: the shipped files match their model card, it loads offline without
torch, it tells an answering sentence from one on the same topic, and the training script
still runs end to end (a few steps on a tiny sample; the full training is not in CI)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qa_bot.errors import ModelError
from qa_bot.reader import MODEL_DIR, Reader, load_reader, pair_text

from .public_data import PUBLIC_DATA as DATA
from .public_data import needs_public_data

ROOT = Path(__file__).resolve().parents[1]
# The files scripts/train_reader.py reads (its DATA_FILES; a test below keeps the two equal).
TRAINING_DATA = (
    "squad/train-v1.1.json",
    "squad/train-v2.0-unanswerable.json",
    "squad/dev-v2.0.json",
    "selqa/selqa-ass-dev.json",
    "wordnet/antonyms.tsv",
)
TITLE = "CSTO summit in Bishkek"


def test_the_shipped_model_matches_its_card():
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    stated = re.search(r"`model\.onnx`.*?sha256 `([0-9a-f]{64})`", card, re.S)
    assert stated, "MODEL_CARD.md must state the sha256 of model.onnx"
    actual = hashlib.sha256((MODEL_DIR / "model.onnx").read_bytes()).hexdigest()
    assert actual == stated.group(1)
    assert (MODEL_DIR / "model.onnx").stat().st_size < 50_000_000
    for licence in ("CC BY-SA 4.0", "Apache-2.0"):
        assert licence in card


def test_the_reader_prefers_the_sentence_that_answers():
    reader = load_reader()
    sentences = [
        "The CSTO summit took place in Bishkek under the chairmanship of Kyrgyzstan's "
        "President Sadyr Japarov.",
        "Leaders discussed the security situation at the summit.",
        "The next summit is scheduled for November next year in Moscow.",
    ]
    scores = reader.score("Who chaired the summit?", [pair_text(TITLE, s) for s in sentences])
    assert scores.argmax() == 0 and scores[0] > 0.5
    assert ((scores >= 0) & (scores <= 1)).all()
    # Same question, same candidates: the same numbers (deterministic, and cached).
    again = reader.score("Who chaired the summit?", [pair_text(TITLE, s) for s in sentences])
    assert (again == scores).all()


def test_the_reader_loads_without_torch():
    code = (
        "import sys\n"
        "from qa_bot.reader import load_reader\n"
        "load_reader().score('Who?', ['Someone said so.'])\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_a_missing_model_says_what_to_do(tmp_path):
    with pytest.raises(ModelError, match="reader model is missing.*Reinstall qa-bot"):
        Reader(tmp_path)


def test_a_corrupt_model_says_what_to_do(tmp_path):
    for name in ("tokenizer.json", "reader.json", "config.json"):
        (tmp_path / name).write_bytes((MODEL_DIR / name).read_bytes())
    (tmp_path / "model.onnx").write_bytes(b"not an onnx file")
    with pytest.raises(ModelError, match="Cannot load the reader model"):
        Reader(tmp_path)


def test_pair_text_puts_the_title_first():
    assert pair_text("  A  title ", "The  sentence.") == "A title: The sentence."
    assert pair_text("", "The sentence.") == "The sentence."


@pytest.mark.slow
@needs_public_data(*TRAINING_DATA, why="the reader's training script (SQuAD, SelQA, WordNet)")
def test_the_training_script_runs_end_to_end(tmp_path):
    out, work = tmp_path / "out", tmp_path / "work"
    command = [
        sys.executable, str(ROOT / "scripts" / "train_reader.py"),
        "--data", str(DATA), "--out", str(out), "--work", str(work),
        "--squad-questions", "60", "--squad2-questions", "40", "--unanswerable-questions", "40",
        "--swap-questions", "20", "--max-steps", "3", "--eval-questions", "30",
        "--groups-per-batch", "2",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    card = (out / "MODEL_CARD.md").read_text(encoding="utf-8")
    digest = hashlib.sha256((out / "model.onnx").read_bytes()).hexdigest()
    assert digest in card and "sentence_selection_top1" in card
    # Attention is fused too (int8 QAttention), not only LayerNorm and GELU: the card says so.
    assert "fused by ONNX Runtime: attention, embeddings, LayerNorm, GELU" in card
    scores = Reader(out).score("Who won?", ["Smith won the race.", "It rained."])
    assert scores.shape == (2,)
    # The card's figures are what a re-run of its held-out measurement gives.
    check = [sys.executable, str(ROOT / "scripts" / "train_reader.py"), "--check-card",
             "--data", str(DATA), "--out", str(out)]  # fmt: skip
    checked = subprocess.run(check, capture_output=True, text=True, timeout=600)
    assert checked.returncode == 0 and "the card matches" in checked.stdout, checked.stdout


def test_the_shipped_graph_runs_attention_as_fused_operators():
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_reader import fused_operators

    fused = fused_operators(MODEL_DIR / "model.onnx")
    assert fused == "attention, LayerNorm, GELU"
    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    assert f"fused by ONNX Runtime: {fused}" in card


@pytest.mark.slow
def test_an_unfused_int8_graph_is_rebuilt_fused_with_the_same_int8_weights(tmp_path):
    """scripts/refuse_reader.py on a small BERT exported as reader v2 was (SDPA attention,
    unfused): the rebuilt graph runs attention as QAttention, its int8 matrices are the
    original's, and it scores pairs as the original does, up to int8 noise."""
    import numpy as np
    import onnx
    import torch
    from onnx import numpy_helper
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    sys.path.insert(0, str(ROOT / "scripts"))
    from refuse_reader import rebuild
    from train_reader import export_onnx, fused_operators

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, num_labels=1,
    )  # fmt: skip
    source = tmp_path / "source"
    model = BertForSequenceClassification(config)
    with torch.no_grad():  # no two tensors alike: the exporter merges identical initialisers
        for parameter in model.parameters():
            parameter.add_(0.05 * torch.randn_like(parameter))
    model.save_pretrained(source)
    AutoTokenizer.from_pretrained(MODEL_DIR).save_pretrained(source)
    unfused, fused = tmp_path / "unfused", tmp_path / "fused"
    export_onnx(source, unfused, 128, attention="sdpa")
    assert "attention" not in fused_operators(unfused / "model.onnx")

    rebuild(unfused, fused)
    assert fused_operators(fused / "model.onnx") == "attention, LayerNorm, GELU"

    def int8_matrices(model):
        graph = onnx.load(str(model)).graph
        return {
            t.name: numpy_helper.to_array(t)
            for t in graph.initializer
            if t.name.endswith("_quantized") and t.data_type == onnx.TensorProto.INT8
        }

    before, after = int8_matrices(unfused / "model.onnx"), int8_matrices(fused / "model.onnx")
    for layer in range(2):  # query, key and value side by side in one QAttention matrix
        qkv = after[f"Attention_{layer}_qkv_weight_quantized"]
        names = sorted(
            (n for n in before if n.startswith("onnx::MatMul")), key=lambda n: int(n.split("_")[1])
        )
        assert any(np.array_equal(qkv[:, :64], before[n]) for n in names)
    pairs = [("Who won?", "Smith won the race."), ("When?", "It rained on Monday.")]
    original = Reader(unfused).pair_logits(pairs)
    rebuilt = Reader(fused).pair_logits(pairs)
    assert np.allclose(original, rebuilt, atol=0.05)

    # Training can go on from either graph (`train_reader.py --init-from`): both give back the
    # same BERT weights, query, key and value split out of the fused matrix.
    from refuse_reader import from_int8

    weights = [from_int8(folder)[0].state_dict() for folder in (unfused, fused)]
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_the_training_data_this_file_needs_is_what_the_script_reads():
    import ast

    source = (ROOT / "scripts" / "train_reader.py").read_text(encoding="utf-8")
    (files,) = [
        ast.literal_eval(node.value)
        for node in ast.parse(source).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "DATA_FILES"
    ]
    assert tuple(files) == TRAINING_DATA


def test_the_training_sample_can_favour_questions_worded_unlike_their_answer():
    """`--reworded-share` draws that share of an article's SQuAD sample from questions sharing at
    most a third of their words with the answer sentence; with no share the sample is unchanged."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from reader_data import ArticleView, Paragraph, Sentence, reworded_first

    text = "The main damage was inflicted on the commercial areas. The raid began at dawn."
    first = text.index("The raid")
    sentences = [
        Sentence(text[:first].strip(), 0, first - 1),
        Sentence(text[first:], first, len(text)),
    ]

    def asked(question: str, answer: str) -> tuple[int, dict]:
        return 0, {
            "question": question,
            "answers": [{"text": answer, "answer_start": text.index(answer)}],
        }

    view = ArticleView.of([Paragraph("Raid", sentences)])
    same_words = [
        asked(f"What was inflicted on the commercial areas {i}?", "main damage") for i in range(3)
    ]
    other_words = asked("What was primarily hurt?", "commercial areas")
    questions = [*same_words, other_words]
    assert reworded_first(view, questions, 2, 0.0) == questions[:2]
    chosen = reworded_first(view, questions, 2, 0.5)
    assert chosen == [other_words, same_words[0]]


def test_casual_rewrites_can_draw_on_the_wider_chat_vocabulary():
    """`--chat-words` lets a casual rewrite say a formal word the ways people type it; without it
    the rewrite keeps the everyday words alone, and "how many" never loses its "many"."""
    import random

    sys.path.insert(0, str(ROOT / "scripts"))
    from reader_data import CHAT_WORDS, casual

    question = "How many employees did the company sell to the corporation?"
    plain = {casual(question, "Rank", random.Random(seed)) for seed in range(200)}
    chat = {casual(question, "Rank", random.Random(seed), chat_words=True) for seed in range(200)}
    chat_only = {w for word in ("employees", "company", "sell") for w in CHAT_WORDS[word]}
    chat_only -= {"company"}

    def says(texts: set[str], words: set[str]) -> bool:
        return any(re.search(rf"\b{re.escape(w)}\b", t) for t in texts for w in words)

    assert not says(plain, chat_only)
    assert says(chat, {"flog", "offload"}) and says(chat, {"staff", "workers"})
    assert all("how many" in text.lower() for text in plain | chat)
    assert all(isinstance(v, list) and v for v in CHAT_WORDS.values())


def test_written_chat_questions_make_groups_by_id_and_wording(tmp_path):
    """`--written-casual`: a written chat question replaces the SQuAD question of the same id
    *and* wording (ids repeat in the SQuAD 2.0 train unanswerables), keeps its answer sentence
    as the positive, and an unanswerable one keeps its plausible-answer sentence as the
    hardest negative."""
    import json
    import random

    sys.path.insert(0, str(ROOT / "scripts"))
    from reader_data import ArticleView, Paragraph, split_sentences, written_casual_groups

    context = "The summit was held in Bishkek. Russia will chair the next one in Moscow."
    answer = context.index("Russia")
    squad_qa = {
        "id": "a1",
        "question": "Which country will preside over the next summit?",
        "answers": [{"text": "Russia", "answer_start": answer}],
    }
    views = {"CSTO": ArticleView.of([Paragraph("CSTO", split_sentences(context), [squad_qa])])}
    no_answer = [
        {
            "id": "CSTO-0",
            "question": "Which city hosted the first summit?",
            "plausible_answers": [{"text": "Bishkek", "answer_start": 23}],
        },
        {"id": "CSTO-0", "question": "Who vetoed it?", "answers": []},
    ]
    unanswerable = {
        "CSTO": ArticleView.of([Paragraph("CSTO", split_sentences(context), no_answer)])
    }
    written = tmp_path / "written.jsonl"
    rows = [
        {"id": "a1", "question": squad_qa["question"], "casual": "who's running the next one"},
        {
            "id": "CSTO-0",
            "question": "Which city hosted the first summit?",
            "casual": "where was #1",
        },
        {"id": "a1", "question": "Another wording", "casual": "never used"},
    ]
    written.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    groups = written_casual_groups(written, views, unanswerable, random.Random(0), 3)
    by_kind = {g.kind: g for g in groups}
    assert sorted(by_kind) == ["written-chat", "written-chat-no"]
    chat = by_kind["written-chat"]
    assert chat.question == "who's running the next one"
    assert "Russia will chair" in chat.candidates[chat.target]
    no = by_kind["written-chat-no"]
    assert no.question == "where was #1" and no.target == -1
    assert any("held in Bishkek" in c for c in no.candidates)


def test_training_refuses_to_go_on_from_a_reader_with_another_held_out_split(tmp_path):
    """`--init-from` a reader trained with another seed would hold out articles that reader
    trained on (SQuAD 2.0 dev is split by the seed): refused, with the reason."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from train_reader import Config, card_blocks, same_split

    card = (MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    shipped_seed = card_blocks(card)[0]["seed"]
    same_split(Config(seed=shipped_seed), MODEL_DIR)
    with pytest.raises(SystemExit, match="would not be held out"):
        same_split(Config(seed=shipped_seed + 1), MODEL_DIR)


def test_negatives_can_be_ranked_as_hybrid_retrieval_ranks_sentences():
    """`--dense-negatives` fuses the shared-words ranking with MiniLM's (reciprocal rank), so a
    topical sentence sharing no word with the question becomes a negative; without it the ranking
    is the shared words alone. (A hand-made encoder stands in for MiniLM here.)"""
    sys.path.insert(0, str(ROOT / "scripts"))
    import numpy as np
    from reader_data import ArticleView, Paragraph, Sentence, reciprocal_rank_fusion

    texts = [
        "The summit was held in the capital in spring.",
        "Leaders of six countries met in Bishkek.",
        "Heads of state gathered for the talks.",
        "The weather was fine and the summit ended.",
    ]
    sentences, at = [], 0
    for t in texts:
        sentences.append(Sentence(t, at, at + len(t)))
        at += len(t) + 1
    question = "Which presidents attended the summit?"
    closeness = {question: [0.2, 0.4, 1.0, 0.0]}  # MiniLM-like: "heads of state" is nearest
    rows = np.eye(4) * [0.3, 0.5, 1.0, 0.1]
    closeness |= {t: list(row) for t, row in zip(texts, rows, strict=True)}
    calls: list[list[str]] = []

    def encode(batch: list[str]) -> np.ndarray:
        calls.append(batch)
        return np.array([closeness[t] for t in batch])

    everyone = lambda c: True  # noqa: E731
    plain = ArticleView.of([Paragraph("Summit", sentences)])
    assert plain.ranked(question, everyone) == [0, 3, 1, 2]  # "summit" first, no-overlap last
    hybrid = ArticleView.of([Paragraph("Summit", sentences)], encode)
    assert hybrid.ranked(question, everyone) == [0, 2, 1, 3]
    assert hybrid.ranked(question, lambda c: c[1] != 0) == [3, 2, 1]
    assert len(calls) == 3  # the article's sentences once, then each question
    assert reciprocal_rank_fusion([0, 1, 2], [2, 1, 0]) == [0, 2, 1]  # a tie: the first's order
    assert reciprocal_rank_fusion([3, 1, 2], [1, 2, 3]) == [1, 3, 2]
