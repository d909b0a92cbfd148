"""Index: embed sentence chunks and keep them in Chroma.

`embeddings` is the only module that imports sentence-transformers, `store` the only one that
imports chromadb, and `indexing` syncs a set of articles into a new index generation that is
swapped in only when complete. Imports leaves and `ingest` only.
"""
