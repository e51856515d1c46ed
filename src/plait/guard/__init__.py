"""Guards around model calls and the API: PII masking (`plait.guard.pii`, `plait.guard.logs`), rate limits
(`plait.guard.limits`) and prompt-injection detection (`plait.guard.injection`). See docs/guard.md."""
