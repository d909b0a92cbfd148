"""Ingest: read articles (text, Markdown, web pages, PDF, Word, a link) and cut them into
sentence chunks.

Offsets always index the article's text as read, so every citation can be checked by
slicing. `formats` holds the one list of supported types; a reader per format
(`html_reader`, `pdf_reader`, `docx_reader`) wraps its library; `fetch` downloads a link
safely. Imports only the leaf modules (`types`, `errors`, `config`, `normalise`, `tokens`).
"""
