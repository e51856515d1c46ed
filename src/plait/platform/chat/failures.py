"""What a failed chat tells its client: a clean reason by the kind of failure, never the exception's text
(which can hold file paths, SQL or provider URLs); the server log keeps the detail under the chat's id."""

from __future__ import annotations

from plait.compose import GraphRunError
from plait.models.errors import (
    AuthenticationError,
    BadRequestError,
    ModelConfigError,
    ModelError,
    RateLimitError,
    UnknownModelError,
)
from plait.platform.chat.guarded import INJECTION_BLOCKED, InjectionBlocked
from plait.platform.chat.records import INTERNAL_ERROR, ChatError

MODEL_FAILED = 5001  # the model or its provider failed; the chat may work when asked again
TIMED_OUT = 5002


def chat_error(exc: BaseException, chat_id: str) -> ChatError:
    cause = exc.cause if isinstance(exc, GraphRunError) and isinstance(exc.cause, BaseException) else exc
    if isinstance(cause, TimeoutError):
        return ChatError(TIMED_OUT, "the chat took longer than the server allows and was stopped")
    if isinstance(cause, InjectionBlocked):  # its message is ours, written for the client
        return ChatError(INJECTION_BLOCKED, str(cause))
    if isinstance(cause, ModelError):
        return ChatError(MODEL_FAILED, _model_reason(cause))
    return ChatError(
        INTERNAL_ERROR, f"the chat failed on an internal error; the server log has it under chat {chat_id}"
    )


def _model_reason(error: ModelError) -> str:
    model = error.model_id
    if isinstance(error, UnknownModelError | ModelConfigError):  # they name the setting to fix, nothing inner
        return str(error)
    if isinstance(error, AuthenticationError):
        return f"the provider of {model} refused its API key"
    if isinstance(error, RateLimitError):
        return f"the provider of {model} is rate limiting; try again later"
    if isinstance(error, BadRequestError):
        status = f" (HTTP {error.status})" if error.status else ""
        return f"the provider of {model} rejected the request{status}"
    return f"the model {model} failed or could not be reached; try again later"
