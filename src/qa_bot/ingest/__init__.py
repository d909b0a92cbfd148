"""Ingest: read article files (text, Markdown, HTML) and cut them into sentence chunks.

Offsets always index the original text, so every citation can be checked by slicing.
Imports only the leaf modules (`types`, `errors`, `config`, `normalise`, `tokens`).
"""
