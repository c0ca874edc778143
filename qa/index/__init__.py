"""The index on disk: FAISS, BM25, the chunk table, and building and updating them."""
