"""Operations: Prometheus metrics, OpenTelemetry tracing through the compose callbacks, structured logs.

Everything here is cheap when unused: tracing loads no SDK unless it is turned on, and the metrics are
counters updated in place (docs/operations.md)."""
