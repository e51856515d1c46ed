"""Indexes of a knowledge base: BM25 for keywords, vector stores for embeddings, one metadata filter syntax.

Importing this package imports neither asyncpg nor pymilvus: the pgvector and Milvus stores load them on first use.
"""

from plait.knowledge.index.bm25 import Analyzer, BM25Index
from plait.knowledge.index.filters import parse_filters
from plait.knowledge.index.milvus import MilvusStore
from plait.knowledge.index.pgvector import PgVectorStore
from plait.knowledge.index.vectors import ExactVectorStore, VectorStore

__all__ = ["Analyzer", "BM25Index", "ExactVectorStore", "MilvusStore", "PgVectorStore", "VectorStore", "parse_filters"]
