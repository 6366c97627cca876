"""Retrieval: embeddings, the FAISS index, and retrieval-based answers."""
