import pytest

from qa_bot.errors import CorpusError
from qa_bot.ingest.corpus import load_corpus, load_document

from .conftest import ARTICLE, CORPUS, MULTI_CORPUS


def test_bundled_article_keeps_original_text_and_metadata():
    (doc,) = load_corpus([CORPUS])
    assert doc.doc_id == "csto-summit-bishkek"
    assert doc.source == "Reuters"
    assert doc.title.startswith("CSTO summit in Bishkek")
    assert doc.text == ARTICLE.read_text(encoding="utf-8")  # not normalised: offsets stay exact
    assert "\u00a011th" in doc.text and "\u2019" in doc.text
    assert len(doc.content_hash) == 64


def test_all_three_formats_load():
    docs = {d.doc_id: d for d in load_corpus([MULTI_CORPUS])}
    assert len(docs) == 3
    html = next(d for d in docs.values() if d.path.endswith(".html"))
    assert "<" not in html.text and "script" not in html.text.lower()
    md = next(d for d in docs.values() if d.path.endswith(".md"))
    assert not md.title.startswith("#")


def test_html_page_keeps_the_article_and_drops_scripts_and_navigation():
    (doc,) = [d for d in load_corpus([MULTI_CORPUS]) if d.path.endswith(".html")]
    assert doc.title == "Kestrel Peak mountain railway opens after six years of work"
    assert "Tickets sold out" not in doc.text  # the <script>
    assert "Weather" not in doc.text  # the <nav>
    assert "The line is 14.2 kilometres long" in doc.text
    assert doc.date == ""  # the page states none (a year in the prose is not its date)


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("empty.txt", b"", "has no text"),
        ("blank.txt", b"  \n\n\t ", "has no text"),
        ("binary.txt", b"\x00\x01\x02PNG", "looks binary"),
        ("latin1.txt", "caf\u00e9".encode("latin-1"), "not valid UTF-8"),
        ("doc.pdf", b"%PDF-1.4", "not a readable PDF"),
        ("notes.docx", b"PK\x03\x04 not really", "not a Word document"),
        ("old.doc", b"\xd0\xcf\x11\xe0", "unsupported type"),
    ],
)
def test_bad_files_get_an_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CorpusError, match=message) as info:
        load_document(path)
    assert name in str(info.value)


def test_empty_folder_and_missing_path_are_errors(tmp_path):
    with pytest.raises(CorpusError, match="No articles found"):
        load_corpus([tmp_path])
    with pytest.raises(CorpusError, match="No such file or folder"):
        load_corpus([tmp_path / "nope"])


def test_unsupported_file_in_a_corpus_folder_is_named(tmp_path):
    (tmp_path / "a.txt").write_text("Some article text here.", encoding="utf-8")
    (tmp_path / "notes.docx").write_bytes(b"PK")
    with pytest.raises(CorpusError, match="notes.docx"):
        load_corpus([tmp_path])


def test_unreadable_file_is_reported(tmp_path):
    # A folder named like an article cannot be read as one (this holds for root too,
    # unlike file permissions).
    path = tmp_path / "folder.txt"
    path.mkdir()
    with pytest.raises(CorpusError, match="Cannot read .*folder.txt"):
        load_document(path)


def test_duplicate_ids_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for folder in ("a", "b"):
        (tmp_path / folder / "same.txt").write_text("An article here.", encoding="utf-8")
    with pytest.raises(CorpusError, match="share the id"):
        load_corpus([tmp_path / "a", tmp_path / "b"])
