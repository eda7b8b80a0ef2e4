"""Retrieve from documents and answer with citations: the RAG core of the service."""
