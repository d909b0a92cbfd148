"""The library (#19, and #17's N3, N8, N9, N12): changes cost the article, owners, caps.

Fast and hermetic: the hashing embedder and a real embedded Chroma in a temp folder.
The kills and the two-replica test are in tests/test_library_faults.py.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from qa_bot.engine import Engine
from qa_bot.errors import CorpusError
from qa_bot.index import library as library_module
from qa_bot.ui.session import ChatSession
from tests.fakes import HashingEmbedder
from tests.ingest_files import news_page, write_pdf
from tests.link_server import Route, link_server

HARBOUR = (
    b"Harbour news\n\nThe harbour festival in Velmora drew 40,000 visitors on Sunday. "
    b"The mayor Ivo Petrov opened it with a speech."
)


def _rows_by_doc(engine) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for chunk_id, _, meta, _ in engine.store.live().rows():
        found.setdefault(meta["doc_id"], set()).add(chunk_id)
    return found


class CountingEmbedder(HashingEmbedder):
    texts = 0

    def _embed(self, texts):
        CountingEmbedder.texts += len(texts)
        return super()._embed(texts)


# -- #19: a change touches only its article ------------------------------------------------


def test_adding_an_article_writes_only_its_own_passages(settings):
    engine = Engine(settings, embedder=CountingEmbedder())
    engine.loaded()
    before = _rows_by_doc(engine)
    generation = engine.store.live().name
    embedded = CountingEmbedder.texts
    upload = engine.add_article("harbour.txt", HARBOUR)
    after = _rows_by_doc(engine)
    assert engine.store.live().name == generation  # no new generation, no copy
    assert {d: ids for d, ids in after.items() if d != upload.doc_id} == before
    assert CountingEmbedder.texts - embedded == len(after[upload.doc_id]) == 2
    assert "Velmora" in engine.answer("Where was the harbour festival held?").text


def test_removing_an_article_deletes_only_its_passages(engine):
    engine.loaded()
    before = _rows_by_doc(engine)
    engine.add_article("harbour.txt", HARBOUR)
    report = engine.remove_article("upload-harbour")
    assert report.removed == ["upload-harbour"]
    assert _rows_by_doc(engine) == before
    assert "upload-harbour" not in {row[0] for row in engine.articles()}
    result = engine.answer("Where was the harbour festival held?")
    assert all(p.doc_id != "upload-harbour" for p in result.passages)


def test_replacing_an_upload_leaves_one_revision(engine):
    engine.add_article("harbour.txt", HARBOUR)
    engine.add_article("harbour.txt", HARBOUR.replace(b"40,000", b"52,000"))
    rows = _rows_by_doc(engine)["upload-harbour"]
    assert len(rows) == 2 and len({r.rsplit("@", 1)[1] for r in rows}) == 1
    assert "52,000" in engine.article_text("upload-harbour")


def _vector_files(engine) -> dict[str, tuple[int, int]]:
    """(size, mtime_ns) of every HNSW file of the embedded index."""
    return {
        str(p.relative_to(engine.store.path)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in engine.store.path.glob("*-*-*-*-*/*.bin")
    }


def test_a_live_generation_is_frozen_so_changes_never_rewrite_its_vector_files(settings):
    """Chroma rewrites HNSW files in place every 1,000 changed vectors, and a kill during
    that rewrite leaves files that crash the next process (chroma-core/chroma#7238). A live
    generation is frozen: a 1,500-passage change goes to Chroma's SQLite log only, and a
    fresh process replays it."""
    from qa_bot.index.store import is_frozen

    engine = Engine(settings)
    live = engine.loaded().live
    assert is_frozen(live.collection) and is_frozen(live.catalogue)
    before = _vector_files(engine)
    assert before
    body = " ".join(f"Berth {n} of the Velmora harbour took {n % 97} ships." for n in range(1500))
    upload = engine.add_article("long.txt", f"Long report\n\n{body}".encode())
    assert upload.report.chunks_embedded == 1500
    engine.remove_article(upload.doc_id)
    engine.add_article("long.txt", f"Long report\n\n{body}".encode())
    assert _vector_files(engine) == before  # not one byte rewritten
    fresh = Engine(settings)
    hit = fresh.answer("How many ships did berth 1234 of the Velmora harbour take?")
    assert any(p.doc_id == upload.doc_id for p in hit.passages)


def test_a_sync_compacts_the_replayed_changes_without_embedding_again(settings, monkeypatch):
    from qa_bot.index import store as store_module

    monkeypatch.setattr(library_module, "COMPACT_AFTER", 3)
    engine = Engine(settings, embedder=CountingEmbedder())
    engine.loaded()
    engine.add_article("harbour.txt", HARBOUR)
    engine.add_article("notes.txt", HARBOUR.replace(b"Harbour news", b"Dock notes"), owner="s-a")
    live = engine.store.live()
    assert live.head().tail == 4
    embedded = CountingEmbedder.texts
    report = engine.index()  # nothing changed in the corpus, but the tail is long
    assert report.compacted and report.chunks_embedded == 0
    assert CountingEmbedder.texts == embedded
    compacted = engine.store.live()
    assert compacted.name != live.name and compacted.head().tail == 0
    assert store_module.is_frozen(compacted.collection)
    assert {r[0] for r in engine.articles("s-a")} == {
        r[0] for r in Engine(settings).articles("s-a")
    }
    assert "Velmora" in engine.answer("Where was the harbour festival held?").text
    private = engine.answer("Where was the harbour festival held?", viewer="s-a")
    assert any(
        p.doc_id.startswith("upload-") and p.doc_id != "upload-harbour" for p in private.passages
    )


def test_another_process_sees_a_change_without_reloading_everything(settings):
    reader, writer = Engine(settings), Engine(settings)
    reader.loaded()
    first_view = reader.loaded().view
    writer.add_article("harbour.txt", HARBOUR)
    deadline = time.monotonic() + 5
    while "upload-harbour" not in {r[0] for r in reader.articles()}:
        assert time.monotonic() < deadline, "the reader never saw the new article"
        time.sleep(0.2)
    view = reader.loaded().view
    # The same generation, read incrementally: the untouched article's chunks are shared.
    assert view.live.name == first_view.live.name
    bundled = "csto-summit-bishkek"
    assert view.table.chunks_of(bundled)[0] is first_view.table.chunks_of(bundled)[0]


def test_a_write_that_dies_before_its_commit_leaves_nothing_visible(engine, monkeypatch):
    from qa_bot.index.store import LiveIndex

    engine.loaded()
    articles_before = engine.articles()

    def die(self, records, head):
        raise KeyboardInterrupt("killed between the chunks and the catalogue")

    monkeypatch.setattr(LiveIndex, "commit", die)
    with pytest.raises(KeyboardInterrupt):
        engine.add_article("harbour.txt", HARBOUR)
    monkeypatch.undo()
    fresh = Engine(engine.settings)
    assert fresh.articles() == articles_before
    assert all(p.doc_id != "upload-harbour" for p in fresh.answer("harbour festival?").passages)
    # The orphaned rows are swept by the next sync once they are old enough.
    assert "upload-harbour" in _rows_by_doc(fresh)
    monkeypatch.setattr(library_module, "ORPHAN_AGE", 0.0)
    fresh.index()
    assert "upload-harbour" not in _rows_by_doc(fresh)


# -- N3: uploads are private to their browser session ----------------------------------------


def test_an_upload_is_seen_only_by_the_session_that_made_it(settings, tmp_path):
    engine = Engine(settings)
    session = ChatSession(engine, settings)
    path = tmp_path / "harbour.txt"
    path.write_bytes(HARBOUR)
    assert "Added" in session.upload(str(path), viewer="session-a")
    question = "Where was the harbour festival held?"
    mine = engine.answer(question, viewer="session-a")
    [doc_id] = [r[0] for r in engine.articles("session-a") if r[0].startswith("upload-")]
    assert doc_id != "upload-harbour"  # a private id: two sessions may upload harbour.txt
    assert any(s.doc_id == doc_id for s in mine.sources)
    assert "Velmora" in engine.article_text(doc_id, "session-a")
    for viewer in ("session-b", None):  # another session, and the operator's CLI/API
        theirs = engine.answer(question, viewer=viewer)
        assert all(p.doc_id != doc_id for p in theirs.passages), viewer
        assert "Velmora" not in theirs.text
        assert doc_id not in {r[0] for r in engine.articles(viewer)}
        assert engine.article_text(doc_id, viewer) == ""
    assert session.uploaded_ids("session-b") == []
    assert session.uploaded_ids("session-a") == [doc_id]
    with pytest.raises(CorpusError, match="No article has the id"):
        engine.remove_article(doc_id, viewer="session-b")
    assert "Removed" in session.remove(doc_id, viewer="session-a")


def test_a_link_added_in_a_session_is_private_to_it_and_keeps_its_metadata(settings):
    """`add_url` makes an upload like `add_article`: the session's own, with the page's date,
    author and source kept in the catalogue (so a fresh process, a replica, shows them)."""
    linked = settings.replace(fetch_allow_networks=("127.0.0.1/32",))
    engine = Engine(linked)
    session = ChatSession(engine, linked)
    with link_server() as server:
        server.routes["/news/festival"] = Route(news_page().encode("utf-8"))
        assert "Added" in session.add_url(f"{server.base}/news/festival", viewer="session-a")
    [row] = [r for r in engine.articles("session-a") if r[0].startswith("upload-")]
    doc_id = row[0]
    assert row[2] == "your upload (Velmora Gazette)" and row[4] == "2024-06-29"
    assert doc_id not in {r[0] for r in engine.articles("session-b")}
    assert engine.article(doc_id, "session-b") is None
    replica = Engine(linked)  # reads everything from the catalogue
    info = replica.article(doc_id, "session-a")
    assert info is not None and (info.date, info.author) == ("2024-06-29", "Mara Quill")
    assert replica.article(doc_id) is None


def test_a_pdfs_pages_survive_in_the_catalogue(settings, tmp_path):
    pages = [["The ferry leaves Tartu harbour at nine."], ["The winter timetable starts in May."]]
    pdf = write_pdf(tmp_path / "ferry.pdf", pages, title="Ferry timetable", author="Office")
    upload = Engine(settings).add_article("ferry.pdf", pdf.read_bytes())
    replica = Engine(settings)
    result = replica.answer("When does the winter timetable start?", top_k=10)
    assert 2 in {p.page for p in result.passages if p.doc_id == upload.doc_id}


def test_replies_and_typo_matching_count_only_what_the_viewer_sees(settings):
    """A decline and a "doesn't say" name what the asking session can see, and its typo
    matching knows only those words: another session's upload leaks through neither."""
    engine = Engine(settings)
    engine.add_article("harbour.txt", HARBOUR, owner="session-a")
    public_title = engine.article("csto-summit-bishkek").title
    # "Velmora" and "Petrov" are words of A's upload only: to B this is off-topic.
    question = "Tell me about Velmorra and Petrov"
    theirs = engine.answer(question, viewer="session-b")
    assert theirs.abstained and f'the article "{public_title}"' in theirs.text
    assert "2 indexed articles" not in theirs.text
    mine = engine.answer(question, viewer="session-a")
    assert "I can only answer questions" not in mine.text  # A's own words, one typo apart
    nothing = engine.answer("How many submarines attended the summit?", viewer="session-b")
    if nothing.abstained and "say" in nothing.text:
        assert nothing.text.startswith("The article doesn't say")
    table = engine.loaded().table
    assert "velmora" in table.seen_by("session-a").vocabulary
    assert "velmora" not in table.seen_by("session-b").vocabulary
    assert "velmora" not in table.seen_by(None).vocabulary
    assert len(table.seen_by("session-b").articles) == 1


def test_bm25_alone_never_finds_another_sessions_upload(settings, tmp_path):
    engine = Engine(settings, retrieval_mode="bm25")
    engine.add_article("harbour.txt", HARBOUR, owner="session-a")
    query = "Velmora harbour festival summit"
    found = engine.loaded().retriever.retrieve(query, 10, viewer="session-b")
    assert found and all("Velmora" not in c.chunk.text for c in found)
    found = engine.loaded().retriever.retrieve(query, 10, viewer="session-a")
    assert "Velmora" in found[0].chunk.text


def test_shared_uploads_are_seen_by_everyone(settings, tmp_path):
    shared = settings.replace(shared_uploads=True)
    engine = Engine(shared)
    session = ChatSession(engine, shared)
    path = tmp_path / "harbour.txt"
    path.write_bytes(HARBOUR)
    session.upload(str(path), viewer="session-a")
    assert "upload-harbour" in session.uploaded_ids("session-b")
    assert "Velmora" in engine.answer("Where was the harbour festival?", viewer="session-b").text


def test_a_cited_upload_is_labelled_as_an_upload_in_the_sources(engine):
    engine.add_article("csto-summit-bishkek.txt", HARBOUR, owner="session-a")
    result = engine.answer("Where was the harbour festival held?", viewer="session-a")
    upload = next(p for p in result.passages if p.doc_id.startswith("upload-"))
    assert upload.title == "Harbour news"
    html = ChatSession(engine, engine.settings).sources(result, "session-a")
    assert f"Uploaded by a user</span> Harbour news <code>{upload.doc_id}</code>" in html


# -- N8: caps; N9: exact ids; N12: private files in an existing folder ------------------------


def test_the_library_has_a_cap_on_articles_and_passages(settings):
    engine = Engine(settings.replace(max_articles=2))
    engine.add_article("one.txt", HARBOUR)
    with pytest.raises(CorpusError, match=r"library is full.*QA_BOT_MAX_ARTICLES"):
        engine.add_article("two.txt", HARBOUR.replace(b"Harbour", b"Dock"))
    engine.add_article("one.txt", HARBOUR.replace(b"40,000", b"41,000"))  # replacing is fine
    small = Engine(settings.replace(max_passages=40))
    long = "Long\n\n" + " ".join(f"Sentence {i} is about the port." for i in range(30))
    with pytest.raises(CorpusError, match=r"library is full.*QA_BOT_MAX_PASSAGES"):
        small.add_article("long.txt", long.encode())
    assert "upload-long" not in {r[0] for r in small.articles()}


def test_uploading_report_txt_keeps_report_2024_txt(engine):
    engine.add_article("report.2024.txt", b"Report 2024\n\nThe 2024 report counted 12 ships.")
    engine.add_article("report.txt", b"Report\n\nThe report counted 30 ships.")
    engine.index()  # a plain `qa-bot index` later keeps every upload
    ids = {row[0] for row in engine.articles()}
    assert {"upload-report.2024", "upload-report"} <= ids
    assert "12 ships" in engine.article_text("upload-report.2024")


def test_files_chroma_creates_in_an_existing_index_folder_are_private(settings, tmp_path):
    folder = tmp_path / "existing-index"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    engine = Engine(settings.replace(index_dir=str(folder)))
    engine.add_article("harbour.txt", HARBOUR)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755  # the operator's folder is theirs
    created = list(folder.rglob("*"))
    assert folder / "chroma.sqlite3" in created
    for entry in created:
        expected = 0o700 if entry.is_dir() else 0o600
        assert stat.S_IMODE(entry.stat().st_mode) == expected, entry


# -- exit while a background refresh reads the store ------------------------------------------

_EXIT_DURING_REFRESH = r"""
import sys
from qa_bot.config import Settings
from qa_bot.engine import Engine
engine = Engine(Settings.load(embedder="hashing"))
engine.loaded()
engine._checked_at = 0.0  # the next call starts the background check for changes
engine.loaded()
if sys.argv[1:] == ["watch"]:
    engine.watch(every=0.001)  # the app's watcher, checking as fast as it can
print("exiting", flush=True)
"""


def test_a_process_that_exits_during_a_background_refresh_exits_cleanly(engine):
    """A daemon thread still inside Chroma's native code when Python exits crashed the
    process with SIGSEGV (seen as a 'crash on opening the index after a kill'): the
    background refresh is not a daemon, so exit waits for it, and the app's watcher is
    stopped and joined at exit."""
    import subprocess
    import sys

    engine.loaded()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    for how in ("", "", "watch", "watch"):
        done = subprocess.run(
            [sys.executable, "-c", _EXIT_DURING_REFRESH, *([how] if how else [])],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"


@pytest.mark.slow
def test_the_int8_document_encoder_is_close_and_leaves_questions_alone(isolated_data_dir):
    """`minilm-int8` embeds articles with an int8 copy of MiniLM (made once, cached) and
    questions with the fp32 model; an index built with it answers like the default."""
    import numpy as np

    from qa_bot.config import Settings
    from qa_bot.index.embeddings import make_embedder

    cache = Settings.load().cache_path
    fp32, int8 = (
        make_embedder("minilm", cache_dir=cache),
        make_embedder("minilm-int8", cache_dir=cache),
    )
    assert int8.name != fp32.name  # its own index: never mixed with fp32 vectors
    texts = [
        "The CSTO summit was held in Bishkek on 28 November.",
        "Kyrgyzstan's president chaired the meeting of the collective security treaty.",
    ]
    documents = (int8.embed_documents(texts) * fp32.embed_documents(texts)).sum(axis=1)
    assert np.all(documents > 0.85) and np.all(documents < 0.9999)
    assert int8.int8_path.is_file()
    question = "Where was the summit held?"
    assert np.allclose(int8.embed_query(question), fp32.embed_query(question))
    engine = Engine(Settings.load(embedder="minilm-int8"))
    assert "Bishkek" in engine.answer(question).text
