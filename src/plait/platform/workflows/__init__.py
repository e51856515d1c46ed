"""Workflows on the platform: the catalog (drafts, published versions, import and export), durable runs and
their history, chatflows."""
