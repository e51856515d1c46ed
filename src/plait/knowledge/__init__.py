"""The knowledge engine: load, split, index and retrieve documents, in English and Chinese, offline."""
