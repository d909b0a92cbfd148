"""Each article format read from a real file: web pages, PDF, Word; and each bad file gets
one clear error that names it. The files are built here (see `ingest_files`)."""

from __future__ import annotations

import pytest

from qa_bot.errors import CorpusError
from qa_bot.ingest.chunking import chunk_document
from qa_bot.ingest.corpus import load_corpus, load_document
from qa_bot.ingest.formats import SUPPORTED_SUFFIXES, check_article_file

from .ingest_files import (
    PARAGRAPHS,
    TITLE,
    navigation_page,
    news_page,
    pdf_bomb,
    write_docx,
    write_pdf,
    write_scanned_pdf,
    zip_bomb_docx,
)

# --- web pages ----------------------------------------------------------------------


def test_a_news_page_gives_the_article_with_its_title_date_and_author(tmp_path):
    path = tmp_path / "festival.html"
    path.write_text(news_page(), encoding="utf-8")
    doc = load_document(path)
    assert doc.title.startswith(TITLE)
    assert (doc.date, doc.author, doc.source) == ("2024-06-29", "Mara Quill", "Velmora Gazette")
    for paragraph in PARAGRAPHS:
        assert paragraph in doc.text
    for chrome in ("cookies", "Related stories", "Storm warning", "Privacy policy", "Podcasts"):
        assert chrome not in doc.text
    chunks = chunk_document(doc)
    assert all(doc.text[c.start : c.end] == c.text for c in chunks)  # citations hold


def test_a_page_that_is_all_navigation_is_refused_clearly(tmp_path):
    path = tmp_path / "section.html"
    path.write_text(navigation_page(), encoding="utf-8")
    with pytest.raises(CorpusError, match="no article text .*navigation") as info:
        load_document(path)
    assert "section.html" in str(info.value)


@pytest.mark.parametrize("declared", [True, False])
def test_a_page_in_another_encoding_is_decoded(tmp_path, declared):
    paragraphs = [p.replace("mayor", "maire, Hélène Dupré-Garçon, the mayor") for p in PARAGRAPHS]
    page = news_page(paragraphs=paragraphs, charset="windows-1252" if declared else "x")
    if not declared:
        page = page.replace('<meta charset="x">', "")
    path = tmp_path / "latin.html"
    path.write_bytes(page.encode("cp1252"))
    doc = load_document(path)
    assert "Hélène Dupré-Garçon" in doc.text


def test_the_formats_list_is_the_one_every_route_checks():
    assert {".txt", ".md", ".html", ".pdf", ".docx"} <= set(SUPPORTED_SUFFIXES)
    assert check_article_file("A.PDF", 10, max_bytes=100) == ".pdf"
    with pytest.raises(CorpusError, match="Save it as .docx"):
        check_article_file("report.doc", 10, max_bytes=100)
    with pytest.raises(CorpusError, match="the limit is 100 bytes"):
        check_article_file("a.html", 101, max_bytes=100)


# --- PDF ----------------------------------------------------------------------------

HYPHENATED = [
    "The harbour festival drew a record inter-\nnational crowd to the old quay on Saturday.",
    "Organisers said the fireworks would be\nrepeated next year if the weather allows.",
]


def test_a_pdf_reads_in_order_without_headers_footers_or_line_break_hyphens(tmp_path):
    pages = [[f"Page {n} opens here. " + p for p in HYPHENATED] for n in (1, 2, 3)]
    path = write_pdf(tmp_path / "report.pdf", pages, title="Festival report", author="Jo Writer")
    doc = load_document(path)
    assert (doc.title, doc.author) == ("Festival report", "Jo Writer")
    assert len(doc.date) == 10  # the file's creation date
    assert "record international crowd" in doc.text
    assert "fireworks would be repeated next year" in doc.text
    assert "Weekend edition" not in doc.text and "Page 2 of 3" not in doc.text
    assert doc.text.index("Page 1 opens") < doc.text.index("Page 2 opens")
    assert len(doc.page_starts) == 3
    for number in (1, 2, 3):
        assert doc.page_of(doc.text.index(f"Page {number} opens")) == number
    assert all(doc.text[c.start : c.end] == c.text for c in chunk_document(doc))


def test_a_pdf_drawn_out_of_order_or_in_columns_reads_in_reading_order(tmp_path):
    first = "First paragraph: the quay filled\nbefore dawn on the opening day."
    second = "Second paragraph: by noon the\nbakeries had sold out of bread."
    for name, options in (
        ("reversed.pdf", {"reverse_drawing": True}),
        ("cols.pdf", {"columns": 2}),
    ):
        doc = load_document(write_pdf(tmp_path / name, [[first, second]] * 2, **options))
        assert doc.text.index("First paragraph") < doc.text.index("Second paragraph"), name
        assert "the quay filled before dawn" in doc.text


def test_a_paragraph_cut_by_a_page_break_is_one_paragraph(tmp_path):
    pages = [
        ["The council met on Tuesday and agreed that the new cycle lane along the"],
        ["harbour road will open in May. Work starts next week."],
    ]
    doc = load_document(write_pdf(tmp_path / "cut.pdf", pages, header=""))
    assert "along the harbour road will open in May." in doc.text
    assert doc.page_of(doc.text.index("harbour road")) == 2


def test_a_scanned_pdf_says_ocr_is_not_supported(tmp_path):
    with pytest.raises(CorpusError, match="this PDF has no text layer; OCR is not supported"):
        load_document(write_scanned_pdf(tmp_path / "scan.pdf"))


def test_an_encrypted_pdf_is_refused_clearly(tmp_path):
    path = write_pdf(tmp_path / "locked.pdf", [HYPHENATED], user_password="secret")
    with pytest.raises(CorpusError, match="locked.pdf' is password-protected"):
        load_document(path)


@pytest.mark.parametrize(
    "content",
    [b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage", b"not a pdf at all", b""],
)
def test_a_corrupt_pdf_is_refused_clearly(tmp_path, content):
    path = tmp_path / "broken.pdf"
    path.write_bytes(content)
    with pytest.raises(CorpusError, match="broken.pdf' is not a readable PDF"):
        load_document(path)


def test_a_pdf_bomb_is_refused_without_costing_the_server(tmp_path, monkeypatch):
    """The parse runs in a capped child process: past its memory the file is refused,
    and this process never holds the inflated bytes."""
    import resource

    from qa_bot.ingest import pdf_reader

    monkeypatch.setattr(pdf_reader, "WORKER_MEMORY_BYTES", 400_000_000)
    path = pdf_bomb(tmp_path / "bomb.pdf", unpacked_bytes=600_000_000)
    assert path.stat().st_size < 1_000_000
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(CorpusError, match="bomb.pdf' needs more memory or time .*PDF bomb"):
        load_document(path)
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 50_000


def test_a_truncated_pdf_is_refused_clearly(tmp_path):
    whole = write_pdf(tmp_path / "whole.pdf", [HYPHENATED] * 3).read_bytes()
    path = tmp_path / "truncated.pdf"
    path.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(CorpusError, match="truncated.pdf'"):
        load_document(path)


# --- Word ---------------------------------------------------------------------------


def test_a_docx_gives_its_paragraphs_and_tables_in_order_without_header_or_footer(tmp_path):
    path = write_docx(
        tmp_path / "notes.docx",
        [PARAGRAPHS[0], "A soft\u00adhyphen is not a character.", PARAGRAPHS[1]],
        title="Festival notes",
        author="Jo Writer",
        table=[["Day", "Visitors"], ["Saturday", "41,000"]],
        header_text="Velmora Gazette internal",
    )
    doc = load_document(path)
    assert (doc.title, doc.author) == ("Festival notes", "Jo Writer")
    assert doc.text.index(PARAGRAPHS[0]) < doc.text.index(PARAGRAPHS[1])
    assert "softhyphen" in doc.text
    assert "Saturday | 41,000" in doc.text
    assert "internal" not in doc.text and "Page footer" not in doc.text


def test_a_docx_title_falls_back_to_its_title_paragraph(tmp_path):
    doc = load_document(write_docx(tmp_path / "t.docx", PARAGRAPHS, heading="Harbour news"))
    assert doc.title == "Harbour news"


def test_a_zip_bomb_disguised_as_docx_is_not_opened(tmp_path):
    path = zip_bomb_docx(tmp_path / "bomb.docx")
    assert path.stat().st_size < 200_000
    with pytest.raises(CorpusError, match="bomb.docx' would unpack to 60,000,0.. bytes"):
        load_document(path)


def test_a_zip_that_is_not_a_word_file_is_refused(tmp_path):
    import zipfile

    path = tmp_path / "photos.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo.txt", "hello")
    with pytest.raises(CorpusError, match="not a Word document"):
        load_document(path)


def test_every_format_loads_from_one_corpus_folder(tmp_path):
    (tmp_path / "a.html").write_text(news_page(), encoding="utf-8")
    write_pdf(tmp_path / "b.pdf", [HYPHENATED, HYPHENATED])
    write_docx(tmp_path / "c.docx", PARAGRAPHS)
    (tmp_path / "d.md").write_text("# Heading\n\nSome text of an article here.\n", encoding="utf-8")
    docs = {d.doc_id: d for d in load_corpus([tmp_path])}
    assert set(docs) == {"a", "b", "c", "d"}
    assert docs["b"].page_starts and not docs["c"].page_starts
