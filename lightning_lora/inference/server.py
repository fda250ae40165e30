"""An OpenAI-compatible HTTP API over one loaded model: ``GET /v1/models``, ``POST /v1/chat/completions`` and
``POST /v1/completions``, streamed (Server-Sent Events) or not, errors in OpenAI's shape.

Prompts are rendered in the prompt format training used, as ``generate`` and ``chat`` render them; the answers come
from :mod:`lightning_lora.inference.generation`. One worker thread owns the model (torch generation is not
re-entrant): requests wait in a queue, non-streaming requests waiting at the same time with the same decoding
settings are answered in one batch, a streaming request is generated on its own. No Lightning here; the ``serve``
command loads the model and runs this app with uvicorn.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import time
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from jinja2.exceptions import TemplateError
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from lightning_lora.errors import UserError
from lightning_lora.inference.generation import (
    ChatHistory,
    GenerationOptions,
    PromptFormat,
    check_fits,
    context_length,
)
from lightning_lora.inference.prompting import has_chat_template
from lightning_lora.inference.serve_worker import APIError, Finished, Job, Worker

logger = logging.getLogger(__name__)


class StreamOptions(BaseModel):
    include_usage: bool = False


class _Sampling(BaseModel):
    model: str
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = 1
    stream: bool = False
    stream_options: StreamOptions | None = None


class ContentPart(BaseModel):
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    role: str
    content: str | list[ContentPart] | None = None


class ChatRequest(_Sampling):
    messages: list[ChatMessage] | None = None
    max_completion_tokens: int | None = None  # the newer name of max_tokens


class CompletionRequest(_Sampling):
    prompt: str | list[str] | None = None


@dataclass
class Served:
    """What the routes share: the model's name, prompt format, defaults, the worker and a tokenizer of their own
    (the worker's pads batches, which a fast tokenizer cannot do while another thread encodes with it)."""

    model_name: str
    prompt_format: PromptFormat
    defaults: GenerationOptions
    worker: Worker
    tokenizer: Any
    context: int | None
    created: int

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=self.worker.add_special_tokens)["input_ids"])


def create_app(model: Any, tokenizer: Any, prompt_format: PromptFormat, model_name: str,
               defaults: GenerationOptions | None = None, max_batch_size: int = 8, engine: str = "generate") -> FastAPI:
    """The app serving ``model`` as ``model_name``.

    Args:
        model: a causal LM (transformers or PEFT), in eval mode.
        tokenizer: its tokenizer.
        prompt_format: how training rendered a message (chat template, system prompt).
        model_name: the id clients name in ``model``.
        defaults: decoding settings for the fields a request leaves out (default: greedy, 256 tokens).
        max_batch_size: most non-streaming requests generated together.
        engine: ``generate`` (transformers) or ``llamacpp`` (llama.cpp: GGUF files written at the first request).
    """
    worker = Worker(model, tokenizer, max_batch_size, engine)
    served = Served(model_name, prompt_format, defaults or GenerationOptions(), worker, copy.deepcopy(tokenizer),
                    context_length(model), int(time.time()))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        served.worker.start()
        yield
        await asyncio.to_thread(served.worker.close)

    app = FastAPI(title="lightning_lora", lifespan=lifespan)
    app.state.served = served
    _add_error_handlers(app)

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [_model_card(served)]}

    @app.get("/v1/models/{model_id:path}")
    async def model(model_id: str) -> dict[str, Any]:
        _check_model(served, model_id)
        return _model_card(served)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatRequest) -> Any:
        _check_model(served, body.model)
        text = _chat_prompt(served, body.messages)
        return await _complete(served, body, text, body.max_completion_tokens, "messages", chat=True)

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest) -> Any:
        _check_model(served, body.model)
        prompt = body.prompt[0] if isinstance(body.prompt, list) and len(body.prompt) == 1 else body.prompt
        if not isinstance(prompt, str) or not prompt:
            raise APIError(400, "prompt must be a non-empty string (one prompt per request).", "prompt")
        return await _complete(served, body, served.prompt_format.render(served.tokenizer, prompt), None, "prompt",
                               chat=False)

    return app


def stop_generating(app: FastAPI) -> None:
    """Start shutting down: see :meth:`Worker.stop` (safe in a signal handler)."""
    app.state.served.worker.stop()


def _add_error_handlers(app: FastAPI) -> None:
    """Every error in OpenAI's shape: ours, FastAPI's request validation (400, not 422), Starlette's HTTP errors, and
a bug's 500 (uvicorn logs its traceback)."""

    @app.exception_handler(APIError)
    async def api_error(_: Request, err: APIError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, err: RequestValidationError) -> JSONResponse:
        return await api_error(_, _validation_error(err.errors()))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, err: HTTPException) -> JSONResponse:
        error = APIError(err.status_code, str(err.detail), kind="invalid_request_error" if err.status_code < 500
                         else "server_error")
        return JSONResponse(error.body(), status_code=err.status_code, headers=err.headers)

    @app.exception_handler(Exception)
    async def bug(_: Request, err: Exception) -> JSONResponse:
        return await api_error(_, APIError(500, f"Internal error: {type(err).__name__}: {err}", kind="server_error"))


def _validation_error(errors: Any) -> APIError:
    """One sentence for FastAPI's first validation complaint, with the field it concerns as ``param``."""
    first = list(errors)[0] if errors else {"type": "", "loc": (), "msg": "invalid request"}
    if first["type"] == "json_invalid":
        why = first.get("ctx", {}).get("error", "decode error")
        return APIError(400, f"The request body is not valid JSON ({why}).")
    loc = [part for part in first["loc"] if part != "body"]
    param = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in loc).lstrip(".") or None
    if param is None:
        return APIError(400, "The request body must be a JSON object (sent with Content-Type: application/json).")
    return APIError(400, f"{param}: {first['msg']}.", param)


def _model_card(served: Served) -> dict[str, Any]:
    return {"id": served.model_name, "object": "model", "created": served.created, "owned_by": "lightning_lora"}


def _check_model(served: Served, name: str) -> None:
    if name != served.model_name:
        raise APIError(404, f"The model {name!r} does not exist; this server serves {served.model_name!r}.", "model",
                       "model_not_found")


def _message_text(message: ChatMessage, index: int) -> str:
    if message.role not in ("system", "user", "assistant"):
        raise APIError(400, f"messages[{index}].role must be system, user or assistant, got {message.role!r}.",
                       f"messages[{index}].role")
    if message.content is None:
        raise APIError(400, f"messages[{index}].content is required.", f"messages[{index}].content")
    if isinstance(message.content, list):
        if any(part.type != "text" or part.text is None for part in message.content):
            raise APIError(400, f"messages[{index}].content: only text parts are supported.",
                           f"messages[{index}].content")
        return "".join(part.text or "" for part in message.content)
    return message.content


def _chat_prompt(served: Served, messages: list[ChatMessage] | None) -> str:
    """The conversation through the chat template, as ``chat`` renders it; the training system prompt when the
    request has no system message."""
    if not messages:
        raise APIError(400, "messages must be a non-empty list of {role, content} objects.", "messages")
    fmt = served.prompt_format
    if not (fmt.chat and has_chat_template(served.tokenizer)):
        raise APIError(400, "This model has no chat template (or was trained on bare text): use /v1/completions.",
                       "messages")
    turns = [{"role": m.role, "content": _message_text(m, i)} for i, m in enumerate(messages)]
    system = fmt.system_prompt
    if turns[0]["role"] == "system":
        system = turns.pop(0)["content"]
    elif any(turn["role"] == "system" for turn in turns):
        system = None
    try:
        return ChatHistory(system, turns).render(served.tokenizer)
    except TemplateError as err:  # e.g. a template that wants user and assistant turns to alternate
        raise APIError(400, f"The model's chat template refuses these messages: {err}", "messages") from err


def _options(served: Served, body: _Sampling, max_tokens: int | None, prompt_tokens: int,
             param: str) -> GenerationOptions:
    """The request's decoding settings over the server's defaults; 400 for values out of range or an answer budget
    the model's context cannot hold (``param``: where the prompt is, ``messages`` or ``prompt``)."""
    what = "prompt" if param == "prompt" else "conversation"
    if body.n != 1:
        raise APIError(400, f"n must be 1: this server returns one choice per request, got {body.n}.", "n")
    if body.temperature is not None and body.temperature < 0:
        raise APIError(400, f"temperature must be >= 0 (0 is greedy), got {body.temperature}.", "temperature")
    if body.top_p is not None and not 0 < body.top_p <= 1:
        raise APIError(400, f"top_p must be in (0, 1], got {body.top_p}.", "top_p")
    if body.seed is not None and not -2**63 <= body.seed < 2**64:
        raise APIError(400, f"seed must fit in 64 bits, got {body.seed}.", "seed")
    max_tokens = body.max_tokens if max_tokens is None else max_tokens
    if max_tokens is not None and max_tokens < 1:
        raise APIError(400, f"max_tokens must be at least 1, got {max_tokens}.", "max_tokens")
    try:
        room = check_fits(served.worker.model, prompt_tokens, f"The {what}")
    except UserError as err:
        raise APIError(400, str(err), param, "context_length_exceeded") from err
    if max_tokens is not None and room is not None and max_tokens > room:
        raise APIError(400, f"max_tokens is {max_tokens}, but the {what} is {prompt_tokens} tokens and the model's "
                       f"context is {served.context}: at most {room} tokens are left for the answer.", "max_tokens",
                       "context_length_exceeded")
    budget = max_tokens or min(served.defaults.max_new_tokens, room or served.defaults.max_new_tokens)
    stop = served.defaults.stop if body.stop is None else ([body.stop] if isinstance(body.stop, str) else body.stop)
    d = served.defaults
    return replace(d, max_new_tokens=budget, stop=tuple(stop),
                   temperature=d.temperature if body.temperature is None else body.temperature,
                   top_p=d.top_p if body.top_p is None else body.top_p, seed=d.seed if body.seed is None else body.seed)


async def _complete(served: Served, body: _Sampling, text: str, max_tokens: int | None, param: str, chat: bool) -> Any:
    """Queue the job; the whole response, or a stream of Server-Sent Events."""
    prompt_tokens = served.count(text)
    options = _options(served, body, max_tokens, prompt_tokens, param)
    loop = asyncio.get_running_loop()
    channel: asyncio.Queue[object] = asyncio.Queue()

    def send(item: object) -> None:
        try:
            loop.call_soon_threadsafe(channel.put_nowait, item)
        except RuntimeError:  # the event loop is gone: the server stopped
            pass

    job = Job(text, prompt_tokens, options, send, stream=body.stream)
    served.worker.submit(job)
    response = _Response(served, chat, prompt_tokens)
    if body.stream:
        usage = body.stream_options is not None and body.stream_options.include_usage
        return StreamingResponse(_events(response, job, channel, usage), media_type="text/event-stream")
    item = await channel.get()
    if not isinstance(item, Finished):
        raise _failure(item)
    return response.whole(item)


def _failure(item: object) -> APIError:
    if isinstance(item, APIError):
        return item
    return APIError(500, f"Generation failed: {item}", kind="server_error")


class _Response:
    """OpenAI's response objects for one request: the whole answer, or its stream's chunks."""

    def __init__(self, served: Served, chat: bool, prompt_tokens: int) -> None:
        self.served, self.chat, self.prompt_tokens = served, chat, prompt_tokens
        self.id = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex}"
        self.created = int(time.time())

    def _head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.served.model_name}

    def usage(self, text: str) -> dict[str, int]:
        completion = self.served.count(text) if text else 0
        return {"prompt_tokens": self.prompt_tokens, "completion_tokens": completion,
                "total_tokens": self.prompt_tokens + completion}

    def whole(self, done: Finished) -> dict[str, Any]:
        if self.chat:
            choice = {"index": 0, "message": {"role": "assistant", "content": done.text}, "logprobs": None,
                      "finish_reason": done.finish_reason}
        else:
            choice = {"index": 0, "text": done.text, "logprobs": None, "finish_reason": done.finish_reason}
        return {**self._head("chat.completion" if self.chat else "text_completion"), "choices": [choice],
                "usage": self.usage(done.text)}

    def chunk(self, text: str | None, finish: str | None = None, role: bool = False) -> dict[str, Any]:
        if self.chat:
            delta = {"role": "assistant", "content": ""} if role else ({} if text is None else {"content": text})
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            return {**self._head("chat.completion.chunk"), "choices": [choice]}
        choice = {"index": 0, "text": text or "", "logprobs": None, "finish_reason": finish}
        return {**self._head("text_completion"), "choices": [choice]}

    def usage_chunk(self, text: str) -> dict[str, Any]:
        kind = "chat.completion.chunk" if self.chat else "text_completion"
        return {**self._head(kind), "choices": [], "usage": self.usage(text)}


def _sse(data: dict[str, Any] | str) -> str:
    return f"data: {data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)}\n\n"


async def _events(response: _Response, job: Job, channel: asyncio.Queue[object], usage: bool) -> AsyncIterator[str]:
    """The stream's Server-Sent Events, ending with ``data: [DONE]``; a client that leaves stops the generation."""
    try:
        if response.chat:
            yield _sse(response.chunk(None, role=True))
        while True:
            item = await channel.get()
            if isinstance(item, str):
                if item:
                    yield _sse(response.chunk(item))
                continue
            if isinstance(item, Finished):
                yield _sse(response.chunk(None if response.chat else "", item.finish_reason))
                if usage:
                    yield _sse(response.usage_chunk(item.text))
            else:
                yield _sse(_failure(item).body())
            break
        yield _sse("[DONE]")
    finally:
        job.cancelled = True
