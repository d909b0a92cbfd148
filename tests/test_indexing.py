"""Indexing against a real embedded Chroma in a temp folder, with the hashing embedder."""

import threading
from types import SimpleNamespace

import numpy as np
import pytest

from qa_bot.engine import Engine
from qa_bot.errors import IndexMismatchError, StoreError, StoreLockedError
from qa_bot.index.store import ChromaStore
from tests.fakes import HashingEmbedder


def _live_names(engine):
    return [name for _, name in engine.store._generations()]


def test_first_index_then_idempotent(engine, corpus_copy):
    first = engine.index([corpus_copy])
    assert first.added == ["csto-summit-bishkek"] and first.chunks_total > 10
    again = engine.index([corpus_copy])
    assert not again.changed and again.unchanged == ["csto-summit-bishkek"]
    assert again.generation == first.generation
    assert _live_names(engine) == [first.generation]


def test_changed_article_is_reembedded_and_removed_one_deleted(engine, corpus_copy, tmp_path):
    extra = corpus_copy / "second.txt"
    extra.write_text("Second story\n\nThe harbour opened on Monday in Velmora.", encoding="utf-8")
    engine.index([corpus_copy])
    article = corpus_copy / "csto-summit-bishkek.txt"
    article.write_text(
        article.read_text(encoding="utf-8") + "\n\nA new closing sentence was added.",
        encoding="utf-8",
    )
    extra.unlink()
    report = engine.index([corpus_copy])
    assert report.updated == ["csto-summit-bishkek"]
    assert report.removed == ["second"]
    texts = [c.text for c in engine.loaded().table.chunks]
    assert "A new closing sentence was added." in texts
    assert not any("harbour" in t for t in texts)
    # Changed in place (#19): the same generation, and no rows of the old revision left.
    assert len(_live_names(engine)) == 1
    assert engine.store.live().count() == report.chunks_total == len(texts)


def test_unchanged_articles_are_copied_not_reembedded(settings, corpus_copy):
    class CountingEmbedder(HashingEmbedder):
        calls = 0

        def _embed(self, texts):
            CountingEmbedder.calls += len(texts)
            return super()._embed(texts)

    engine = Engine(settings, embedder=CountingEmbedder())
    engine.index([corpus_copy])
    before = CountingEmbedder.calls
    (corpus_copy / "new.txt").write_text(
        "New story\n\nOne more article arrives today.", encoding="utf-8"
    )
    report = engine.index([corpus_copy])
    assert report.added == ["new"] and report.unchanged == ["csto-summit-bishkek"]
    assert CountingEmbedder.calls - before == report.chunks_embedded == 1


def test_a_failed_build_leaves_the_previous_index_serving(settings, corpus_copy):
    engine = Engine(settings)
    good = engine.index([corpus_copy])

    class BrokenEmbedder(HashingEmbedder):
        def _embed(self, texts):
            raise RuntimeError("embedder crashed mid-build")

    broken = Engine(settings, embedder=BrokenEmbedder())
    (corpus_copy / "new.txt").write_text("New story\n\nAnother article arrives.", encoding="utf-8")
    with pytest.raises(RuntimeError):
        broken.index([corpus_copy])
    assert _live_names(engine) == [good.generation]  # the half-built one was removed
    assert engine.answer("Who chaired the CSTO summit in Bishkek?").sources


def test_mismatched_embedder_is_reported_then_rebuilt(settings, corpus_copy):
    Engine(settings).index([corpus_copy])

    class OtherEmbedder(HashingEmbedder):
        name = "another-embedder"

    other = Engine(settings, embedder=OtherEmbedder())
    with pytest.raises(IndexMismatchError, match="qa-bot index --rebuild"):
        other.answer("Where was the summit held?")
    report = other.index([corpus_copy])
    assert report.rebuilt and report.chunks_embedded == report.chunks_total
    assert other.answer("Where was the summit held?").passages


def test_writers_are_serialised_by_a_lock(settings):
    store = ChromaStore.from_settings(settings.replace(lock_timeout=0.3))
    held, release = threading.Event(), threading.Event()

    def hold():
        with store.write_lock():
            held.set()
            release.wait(5)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(5)
    try:
        other = ChromaStore.from_settings(settings.replace(lock_timeout=0.3))
        with (
            pytest.raises(StoreLockedError, match="Another qa-bot process is indexing"),
            other.write_lock(),
        ):
            pass
    finally:
        release.set()
        thread.join()


def test_stored_vectors_are_unit_length_and_ours(engine, corpus_copy):
    engine.index([corpus_copy])
    live = engine.store.live()
    assert live.manifest.embedder == "hashing-bow-v1" and live.manifest.dim == 256
    vectors = [np.asarray(v) for _, _, _, v in live.rows(include_embeddings=True)]
    assert all(abs(np.linalg.norm(v) - 1) < 1e-4 for v in vectors)


def test_vectors_of_ids_another_process_just_removed_are_left_out(engine, corpus_copy):
    """Chroma fails a whole `get` with "Error finding id" when some ids were deleted by another
    process a moment before (the answering process still shows that article): the ids still
    stored are read, the gone ones left out, and any other failure still raises."""
    engine.index([corpus_copy])
    live = engine.store.live()
    stored = [chunk_id for chunk_id, _, _, _ in live.rows()][:3]
    gone = "an-article-removed-elsewhere-000"
    real_get = live.collection.get

    def chroma_get(*, ids, include):
        if gone in ids:
            raise RuntimeError("Error executing plan: Internal error: Error finding id")
        return real_get(ids=ids, include=include)

    live.collection = SimpleNamespace(get=chroma_get)
    found = live.embeddings([stored[0], gone, *stored[1:]])
    assert sorted(found) == sorted(stored) and all(len(v) == 256 for v in found.values())

    def broken_get(*, ids, include):
        raise RuntimeError("disk I/O error")

    live.collection = SimpleNamespace(get=broken_get)
    with pytest.raises(StoreError, match="disk I/O error"):
        live.embeddings(stored)
