"""A span per HTTP request while tracing is on; the middleware is not installed otherwise.

It sits outside the log id middleware and hands it the trace id, so ``x-tt-logid`` is the trace id: the id a
client reports finds the trace. Runs the request starts (a chat's) inherit its context and join its trace."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from plait.observability import tracing


class TraceMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler = tracing.handler()
        if scope["type"] != "http" or handler is None:
            await self.app(scope, receive, send)
            return
        from opentelemetry import context, trace

        method = scope["method"]
        span = handler.tracer.start_span(method, kind=trace.SpanKind.SERVER, attributes={"http.request.method": method})
        scope.setdefault("state", {})["logid"] = format(span.get_span_context().trace_id, "032x")
        token = context.attach(trace.set_span_in_context(span))

        async def send_traced(message: Message) -> None:
            if message["type"] == "http.response.start":
                span.set_attribute("http.response.status_code", message["status"])
            await send(message)

        error: BaseException | None = None
        try:
            await self.app(scope, receive, send_traced)
        except BaseException as exc:
            error = exc
            raise
        finally:
            context.detach(token)
            route = getattr(scope.get("route"), "path", None)
            if route:
                span.update_name(f"{method} {route}")
                span.set_attribute("http.route", route)
            tracing.end_span(span, error if isinstance(error, Exception) else None)
