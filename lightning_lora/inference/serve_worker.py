"""The worker thread behind the OpenAI-compatible server (:mod:`~lightning_lora.inference.server`): it owns the
model, takes jobs in arrival order, answers non-streaming jobs with equal decoding options in one batch and streams
the others one by one; the errors it hands back are :class:`APIError` in OpenAI's shape."""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Callable

from lightning_lora.inference.generation import (
    GenerationOptions,
    StopAwareWriter,
    answers_from_ids,
    context_length,
    eos_token_ids,
    finish_reason,
    generate_answers,
    generate_text,
)
from lightning_lora.inference.prompting import has_chat_template

logger = logging.getLogger(__name__)


class APIError(Exception):
    """A request the server refuses, answered as ``{"error": {message, type, param, code}}`` with ``status``."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = status, message, param, code, kind

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.kind, "param": self.param, "code": self.code}}


# Request bodies: the fields this server reads; any other field is accepted and ignored.
@dataclass
class Finished:
    """The whole answer of a job and OpenAI's ``finish_reason`` (``stop`` or ``length``)."""

    text: str
    finish_reason: str


def openai_finish_reason(reason: str) -> str:
    """OpenAI's name for one of :data:`~lightning_lora.inference.generation.FINISH_REASONS`: an end-of-sequence
    token or a stop string is ``stop``, the token budget ``length``."""
    return "length" if reason == "length" else "stop"


@dataclass(eq=False)
class Job:
    """One request for the worker: its rendered prompt, decoding options and where results go.

    ``send`` is thread-safe; it receives text pieces (streaming), then a :class:`Finished` or an exception.
    """

    text: str
    prompt_tokens: int
    options: GenerationOptions
    send: Callable[[object], None]
    stream: bool = False
    cancelled: bool = False  # the client went away: skip it, or stop streaming


class _Cancelled(Exception):
    """Raised inside generation to stop a stream whose client left."""


class _Recording:
    """The model, keeping what ``generate`` returned: ``generate_text`` hands back text, the finish reason needs ids."""

    def __init__(self, model: Any) -> None:
        self._wrapped, self.output = model, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapped, name)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        self.output = self._wrapped.generate(*args, **kwargs)
        return self.output


def _shutting_down() -> APIError:
    return APIError(503, "The server is shutting down.", kind="server_error")


class Worker:
    """The one thread that runs the model: jobs in arrival order, non-streaming jobs with equal options batched.
    ``engine``: ``generate`` (transformers) or ``llamacpp`` (llama.cpp, streams included)."""

    def __init__(self, model: Any, tokenizer: Any, max_batch_size: int = 8, engine: str = "generate") -> None:
        self.model, self.tokenizer, self.max_batch_size, self.engine = model, tokenizer, max_batch_size, engine
        self.add_special_tokens = not has_chat_template(tokenizer)  # as generate_text tokenizes
        self.jobs: queue.Queue[Job | None] = queue.Queue()
        self.stopping = False  # refuse new and waiting jobs, end the stream being generated
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="lightning_lora-serve", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, job: Job) -> None:
        if self.stopping:
            raise _shutting_down()
        self.jobs.put(job)

    def stop(self) -> None:
        """Refuse new and waiting jobs (503) and end the stream in progress at its next token; a batch in progress
        finishes. Only sets a flag, so a signal handler may call it."""
        self.stopping = True

    def close(self, timeout: float = 5.0) -> None:
        """:meth:`stop`, end the thread, and wait up to ``timeout`` s for what it is generating."""
        self.stopping = self._closed = True
        self.jobs.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _take(self, block: bool) -> list[Job]:
        """Every job waiting now; with ``block`` wait for one first."""
        items = [self.jobs.get()] if block else []
        while True:
            try:
                items.append(self.jobs.get_nowait())
            except queue.Empty:
                return [item for item in items if item is not None]

    def _run(self) -> None:
        waiting: list[Job] = []
        while not self._closed:
            waiting += self._take(block=not waiting)
            waiting = [job for job in waiting if not job.cancelled]
            if self.stopping:
                for job in waiting:
                    job.send(_shutting_down())
                waiting = []
            if not waiting:
                continue
            first = waiting[0]
            batch = [first] if first.stream else [job for job in waiting if not job.stream
                                                   and job.options == first.options][:self.max_batch_size]
            waiting = [job for job in waiting if job not in batch]
            if first.stream:
                self._stream(first)
            else:
                self._answer(batch)

    def _answer(self, batch: list[Job]) -> None:
        try:
            answers = generate_answers(self.model, self.tokenizer, [job.text for job in batch], batch[0].options,
                                       batch_size=len(batch), progress=False,
                                       add_special_tokens=self.add_special_tokens, engine=self.engine)
        except Exception as err:  # a failed generation fails its requests, never the server
            logger.exception("generation failed")
            for job in batch:
                job.send(err)
            return
        for job, answer in zip(batch, answers):
            job.send(Finished(answer.text, openai_finish_reason(answer.finish_reason)))

    def _stream(self, job: Job) -> None:
        recording = _Recording(self.model)

        def write(piece: str) -> None:
            if job.cancelled or self.stopping:
                raise _Cancelled
            job.send(piece)

        try:
            if self.engine == "llamacpp":
                job.send(self._llamacpp_stream(job, write))
                return
            text = generate_text(recording, self.tokenizer, job.text, job.options, write)
        except _Cancelled:
            if not job.cancelled:
                job.send(_shutting_down())
            return
        except Exception as err:
            logger.exception("generation failed")
            job.send(err)
            return
        ids = recording.output[0, job.prompt_tokens:].tolist()
        raw = self.tokenizer.decode(ids, skip_special_tokens=True)
        reason = finish_reason(raw, ids, eos_token_ids(self.model, self.tokenizer), job.options.stop)
        job.send(Finished(text, openai_finish_reason(reason)))

    def _llamacpp_stream(self, job: Job, write: Callable[[str], None]) -> Finished:
        """One answer from llama.cpp, its text handed to ``write`` as its tokens come (a piece that would end inside
        a character, or before a stop string could be ruled out, waits for the next token)."""
        from lightning_lora.inference.llamacpp_engine import llamacpp_generate

        writer, decoded = StopAwareWriter(write, job.options.stop), [""]

        def on_token(_: int, ids: list[int]) -> None:
            text = self.tokenizer.decode(ids, skip_special_tokens=True)
            if text.startswith(decoded[0]) and not text.endswith("\ufffd"):
                writer.take(text[len(decoded[0]):])
                decoded[0] = text

        prompt = self.tokenizer(job.text, add_special_tokens=self.add_special_tokens)["input_ids"]
        eos = eos_token_ids(self.model, self.tokenizer)
        options = job.options
        generated = llamacpp_generate(self.model, self.tokenizer, [prompt], max_new_tokens=options.max_new_tokens,
                                      eos_ids=eos, stop=options.stop, temperature=options.temperature,
                                      top_p=options.top_p, seed=options.seed, batch_size=1,
                                      context=context_length(self.model), on_token=on_token)
        answer = answers_from_ids(self.tokenizer, generated, eos, options.stop)[0]
        whole = self.tokenizer.decode(generated[0], skip_special_tokens=True)
        if whole.startswith(decoded[0]):
            writer.take(whole[len(decoded[0]):], end=True)
        writer.flush()
        return Finished(answer.text, openai_finish_reason(answer.finish_reason))
