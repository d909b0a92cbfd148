"""Real article files for the ingestion tests, built on the spot: web pages with a site's
chrome, PDFs (reportlab) and Word files (python-docx). Nothing here is a fake: each is a
file that a browser, a PDF viewer or Word would open."""

from __future__ import annotations

import io
import zipfile
from html import escape
from pathlib import Path

PARAGRAPHS = [
    "The harbour festival in Port Velmora drew a record crowd of 41,000 visitors on "
    "Saturday, the organisers said on Sunday evening.",
    "The mayor, Ilse Marrow, opened the festival by ringing the old harbour bell at noon. "
    "She said the town had waited eleven years for a crowd like this one.",
    "Fireworks over the breakwater closed the night. The display was paid for by the "
    "fishermen's guild, which has sponsored it since 1998.",
    "Next year the festival moves to the last weekend of June, to avoid the autumn storms "
    "that cut short the 2019 edition.",
]
TITLE = "Port Velmora harbour festival draws record crowd"


def news_page(
    title: str = TITLE,
    paragraphs: list[str] = PARAGRAPHS,
    *,
    date: str = "2024-06-29",
    author: str = "Mara Quill",
    charset: str = "utf-8",
) -> str:
    """A news page as sites serve them: menus, share buttons, related links, a cookie
    banner and a footer around the article, with its date and author in the markup."""
    menu = "".join(
        f'<li><a href="/{s.lower()}">{s}</a></li>'
        for s in ("Home", "World", "Business", "Sport", "Culture", "Weather", "Podcasts")
    )
    related = "".join(
        f'<li><a href="/news/{n}">{escape(t)}</a></li>'
        for n, t in enumerate(
            (
                "Storm warning issued for the northern coast this weekend",
                "Ferry timetable changes announced for the winter season",
                "Local bakery wins national award for its rye bread",
                "Council approves new cycle lane along the harbour road",
            )
        )
    )
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta charset="{charset}">
<title>{escape(title)} - Velmora Gazette</title>
<meta property="og:site_name" content="Velmora Gazette">
<meta name="author" content="{escape(author)}">
<meta property="article:published_time" content="{date}T09:30:00Z">
<script>window.dataLayer = [{{"page": "article"}}];</script>
<style>body {{ font-family: sans-serif; }}</style>
</head><body>
<div class="cookie-banner">We use cookies to improve your experience. Accept all cookies or
manage your preferences in the settings.</div>
<header><a class="logo" href="/">Velmora Gazette</a><nav><ul>{menu}</ul></nav>
<form action="/search"><input name="q" placeholder="Search"></form></header>
<main><article>
<h1>{escape(title)}</h1>
<p class="byline">By <span class="author">{escape(author)}</span>,
<time datetime="{date}">{date}</time></p>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a>
<a href="#">Email this story</a></div>
{body}
</article>
<aside><h2>Related stories</h2><ul>{related}</ul></aside>
</main>
<footer><ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li></ul>
<p>Copyright 2024 Velmora Gazette Ltd. All rights reserved.</p></footer>
</body></html>"""


def navigation_page() -> str:
    """A page with links and nothing to read: a section front."""
    links = "".join(
        f'<li><a href="/news/{n}">Headline number {n} about something</a></li>' for n in range(40)
    )
    return (
        "<!DOCTYPE html><html><head><title>News - Velmora Gazette</title></head><body>"
        f"<nav><ul>{links}</ul></nav><footer><a href='/about'>About</a></footer></body></html>"
    )


def write_pdf(
    path: Path,
    pages: list[list[str]],
    *,
    title: str = "",
    author: str = "",
    header: str = "The Velmora Gazette - Weekend edition",
    reverse_drawing: bool = False,
    columns: int = 1,
    user_password: str = "",
) -> Path:
    """A text PDF: each page's paragraphs (lines of a paragraph are "\\n"-separated, so a
    test decides where a line breaks), a running header and a "Page n of N" footer.

    `reverse_drawing` draws each page's paragraphs bottom first (the file's order is then
    not the reading order); `columns=2` puts them in two columns.
    """
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    encrypt = None
    if user_password:
        from reportlab.lib.pdfencrypt import StandardEncryption

        encrypt = StandardEncryption(user_password, ownerPassword="owner", strength=128)
    width, height = A4
    pdf = canvas.Canvas(str(path), pagesize=A4, encrypt=encrypt)
    if title:
        pdf.setTitle(title)
    if author:
        pdf.setAuthor(author)
    for number, paragraphs in enumerate(pages, start=1):
        pdf.setFont("Helvetica", 9)
        if header:
            pdf.drawString(72, height - 40, header)
        pdf.drawString(width / 2 - 30, 30, f"Page {number} of {len(pages)}")
        pdf.setFont("Helvetica", 11)
        placed = []
        y = height - 100
        column_width = (width - 144) / columns
        for index, paragraph in enumerate(paragraphs):
            lines = paragraph.split("\n")
            column = index % columns if columns > 1 else 0
            x = 72 + column * (column_width + 10)
            top = height - 100 if columns > 1 else y
            placed.append((x, top, lines))
            if columns == 1:
                y -= 14 * len(lines) + 24
        for x, top, lines in reversed(placed) if reverse_drawing else placed:
            for row, line in enumerate(lines):
                pdf.drawString(x, top - 14 * row, line)
        pdf.showPage()
    pdf.save()
    return path


def write_scanned_pdf(path: Path) -> Path:
    """A PDF whose page is only a picture (as a scanner makes): no text layer."""
    from PIL import Image, ImageDraw
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    image = Image.new("L", (600, 800), 255)
    draw = ImageDraw.Draw(image)
    for row in range(30):
        draw.line((40, 40 + row * 24, 560, 40 + row * 24), fill=40, width=3)
    pdf = canvas.Canvas(str(path), pagesize=A4)
    pdf.drawImage(ImageReader(image), 40, 40, width=500, height=700)
    pdf.showPage()
    pdf.save()
    return path


def write_docx(
    path: Path,
    paragraphs: list[str],
    *,
    title: str = "",
    author: str = "",
    heading: str = "",
    table: list[list[str]] | None = None,
    header_text: str = "",
) -> Path:
    import docx

    document = docx.Document()
    if title:
        document.core_properties.title = title
    if author:
        document.core_properties.author = author
    if header_text:
        document.sections[0].header.paragraphs[0].text = header_text
        document.sections[0].footer.paragraphs[0].text = "Page footer text"
    if heading:
        document.add_heading(heading, level=0)
    for paragraph in paragraphs:
        document.add_paragraph(paragraph)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, cell in enumerate(row):
                grid.cell(r, c).text = cell
    document.save(str(path))
    return path


def zip_bomb_docx(path: Path, unpacked_bytes: int = 60_000_000) -> Path:
    """A zip named .docx whose document.xml inflates to `unpacked_bytes` from a few KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b"\0" * 1_000_000
            for _ in range(unpacked_bytes // len(block)):
                member.write(block)
    path.write_bytes(buffer.getvalue())
    return path


def pdf_bomb(path: Path, unpacked_bytes: int) -> Path:
    """A one-page PDF whose content stream inflates to `unpacked_bytes` of zeros."""
    import zlib

    packer = zlib.compressobj(9)
    block = b"\0" * 10_000_000
    packed = b"".join(packer.compress(block) for _ in range(unpacked_bytes // len(block)))
    packed += packer.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path
