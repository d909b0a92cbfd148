import pytest

from qa_bot.ingest.chunking import chunk_document
from qa_bot.ingest.corpus import load_corpus
from qa_bot.tokens import count_tokens
from qa_bot.types import Document

from .conftest import CORPUS, MULTI_CORPUS


@pytest.fixture(scope="module")
def article():
    return load_corpus([CORPUS])[0]


def test_offsets_slice_the_original_text(article):
    chunks = chunk_document(article)
    assert chunks, "the article yields chunks"
    for chunk in chunks:
        assert article.text[chunk.start : chunk.end] == chunk.text
        assert chunk.doc_id == article.doc_id


def test_title_once_byline_and_tags_dropped(article):
    texts = [c.text for c in chunk_document(article)]
    assert sum(t.startswith("CSTO summit in Bishkek focuses") for t in texts) == 1
    assert "Reuters" not in texts and "Tags" not in texts


def test_sentence_granularity(article):
    texts = [c.text for c in chunk_document(article)]
    assert any(
        t.startswith("The CSTO summit took place in Bishkek") and t.endswith("Japarov.")
        for t in texts
    )
    # The two-sentence list stays two chunks, neighbours by seq.
    adopted = next(i for i, t in enumerate(texts) if t.startswith("The summit also adopted"))
    assert texts[adopted + 1].startswith("These included")


def test_ids_are_stable_and_unique(article):
    first = [c.chunk_id for c in chunk_document(article)]
    assert first == [c.chunk_id for c in chunk_document(article)]
    assert len(set(first)) == len(first)


def test_abbreviations_do_not_split_sentences():
    doc = Document("d", "t", "Mr. Smith met Dr. Jones on Nov. 11 in the U.S. capital. They talked.")
    assert [c.text for c in chunk_document(doc)] == [
        "Mr. Smith met Dr. Jones on Nov. 11 in the U.S. capital.",
        "They talked.",
    ]


def test_overlong_sentences_are_cut_to_the_budget():
    long_sentence = " ".join(f"word{i}" for i in range(600)) + "."
    doc = Document("d", "t", "Intro sentence here.\n\n" + long_sentence)
    chunks = chunk_document(doc, max_tokens=100)
    assert len(chunks) > 3
    for chunk in chunks:
        assert count_tokens(chunk.text) <= 100
        assert doc.text[chunk.start : chunk.end] == chunk.text


def test_markdown_heading_markers_are_not_part_of_the_text():
    doc = load_corpus([MULTI_CORPUS])
    md = next(d for d in doc if d.path.endswith(".md"))
    first = chunk_document(md)[0]
    assert not first.text.startswith("#")
    assert md.text[first.start : first.end] == first.text


def test_hard_wrapped_prose_is_one_sentence():
    doc = Document(
        "d", "t", "Title line\n\nThe minister said the plan was\nready and would start soon."
    )
    assert [c.text for c in chunk_document(doc)][
        -1
    ] == "The minister said the plan was\nready and would start soon."


@pytest.mark.slow
def test_every_chunk_fits_minilm(article, real_embedder):
    for chunk in chunk_document(article):
        assert real_embedder.count_word_pieces(chunk.text) <= real_embedder.max_word_pieces
