"""``serve``: the OpenAI-compatible server on the tiny model, driven with the official ``openai`` client: the answers
are ``generate``'s, streamed or not, concurrent requests are batched, and every bad request is a 4xx error in OpenAI's
shape after which the server goes on."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from lightning_lora.__main__ import main
from lightning_lora.inference import serve_worker
from lightning_lora.inference import server as server_module
from lightning_lora.inference.generation import GenerationOptions, PromptFormat, generate_text

openai = pytest.importorskip("openai")  # the test extra

REPO = Path(__file__).resolve().parents[1]
QUICK = str(REPO / "configs" / "quickstart.yaml")
NAME = "tiny-test"
SYSTEM = "You are a helpful coding assistant."
PROMPT = "Read two integers from one line and print their sum."
TOKENS = 12


class Running:
    """A running server on the tiny model, and what the tests compare its answers with."""

    def __init__(self, url: str, app: Any, model: Any, tokenizer: Any, fmt: PromptFormat) -> None:
        self.url, self.app, self.model, self.tokenizer, self.fmt = url, app, model, tokenizer, fmt
        self.client = openai.OpenAI(base_url=url, api_key="unused", max_retries=0, timeout=60)

    def generate(self, text: str, **options: Any) -> str:
        """What ``generate`` answers to a rendered prompt."""
        options = {"max_new_tokens": TOKENS, **options}
        return generate_text(self.model, self.tokenizer, text, GenerationOptions(**options))

    def post(self, path: str, body: bytes | dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A raw POST: the status and the JSON body."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read())

    def chat(self, prompt: str = PROMPT, **kwargs: Any) -> Any:
        kwargs = {"max_tokens": TOKENS, "temperature": 0, **kwargs}
        return self.client.chat.completions.create(model=NAME, messages=[{"role": "user", "content": prompt}], **kwargs)


def _serving(tiny_qwen2: Path, engine: str = "generate"):
    """The app in a uvicorn server on a free port of 127.0.0.1, in a thread of this process.

    The tiny model's weights are drawn afresh at a larger scale: as saved, it answers every prompt with the same
    newlines, which would make "the same answer as generate" hold for any prompt."""
    import torch
    from transformers import AutoModelForCausalLM

    from lightning_lora.models.loading import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(str(tiny_qwen2)).eval()
    draw = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for weight in (p for p in model.parameters() if p.dim() > 1):
            weight.copy_(torch.randn(weight.shape, generator=draw) * 0.3)
    tokenizer = load_tokenizer(str(tiny_qwen2))
    fmt = PromptFormat(system_prompt=SYSTEM)
    app = server_module.create_app(model, tokenizer, fmt, NAME, GenerationOptions(max_new_tokens=TOKENS),
                                   engine=engine)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield Running(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", app, model, tokenizer, fmt)
    server.should_exit = True
    thread.join(30)
    sock.close()


@pytest.fixture(scope="module")
def served(tiny_qwen2: Path) -> Running:
    yield from _serving(tiny_qwen2)


def _has_llama_cpp() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(scope="module")
def served_by_llamacpp(tiny_qwen2: Path) -> Running:
    if not _has_llama_cpp():
        pytest.skip("llama-cpp-python is not installed (pip install llama-cpp-python)")
    yield from _serving(tiny_qwen2, engine="llamacpp")


def test_engine_llamacpp_answers_streams_and_stops_as_generate(served_by_llamacpp):
    """``serve --engine llamacpp`` on the float32 tiny model (llama.cpp answers as ``generate`` there): the greedy
    answer, the same answer streamed piece by piece, a stop string, and two concurrent clients batched."""
    served = served_by_llamacpp
    rendered = served.fmt.render(served.tokenizer, PROMPT)
    expected = served.generate(rendered)
    reply = served.chat()
    assert reply.choices[0].message.content == expected and len(set(expected)) > 1
    pieces = [c.choices[0].delta.content or "" for c in served.chat(stream=True) if c.choices]
    assert len([p for p in pieces if p]) > 1 and "".join(pieces) == expected
    stop = expected[2:4]
    stopped = served.chat(stop=[stop])
    assert stopped.choices[0].message.content == served.generate(rendered, stop=(stop,))
    assert stopped.choices[0].finish_reason == "stop"
    streamed = "".join(c.choices[0].delta.content or "" for c in served.chat(stream=True, stop=[stop]) if c.choices)
    assert streamed == stopped.choices[0].message.content
    other = "Write a function that reverses a string."
    with ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(lambda p: served.chat(p).choices[0].message.content, [PROMPT, other]))
    assert replies == [expected, served.generate(served.fmt.render(served.tokenizer, other))]


def test_an_unknown_engine_is_one_line(capsys):
    assert main(["serve", "--config", QUICK, "--engine", "vllm", "--port", "0"]) == 2
    assert "--engine must be one of generate, llamacpp, got 'vllm'" in capsys.readouterr().err


def test_engine_llamacpp_without_llama_cpp_python_is_one_line_before_the_model_loads(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp raises ImportError
    assert main(["serve", "--config", QUICK, "--engine", "llamacpp", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert "engine llamacpp needs llama-cpp-python: pip install llama-cpp-python" in err
    assert "Loading weights" not in err and "Traceback" not in err


def test_models_lists_the_one_model(served):
    assert [m.id for m in served.client.models.list().data] == [NAME]
    assert served.client.models.retrieve(NAME).id == NAME


def test_greedy_chat_answer_is_generates(served):
    rendered = served.fmt.render(served.tokenizer, PROMPT)  # the training system prompt, as generate uses it
    reply = served.chat()
    assert reply.choices[0].message.content == served.generate(rendered)
    assert reply.choices[0].message.role == "assistant" and reply.model == NAME
    assert reply.choices[0].finish_reason in ("stop", "length")
    prompt_tokens = len(served.tokenizer(rendered, add_special_tokens=False)["input_ids"])
    assert reply.usage.prompt_tokens == prompt_tokens
    assert reply.usage.total_tokens == prompt_tokens + reply.usage.completion_tokens > prompt_tokens
    # A system message of the request replaces the training one.
    own = [{"role": "system", "content": "Answer in one line."}, {"role": "user", "content": PROMPT}]
    reply = served.client.chat.completions.create(model=NAME, messages=own, max_tokens=TOKENS, temperature=0)
    assert reply.choices[0].message.content == served.generate(
        served.tokenizer.apply_chat_template(own, tokenize=False, add_generation_prompt=True))


def test_stop_strings_cut_the_answer(served):
    full = served.chat(max_tokens=TOKENS).choices[0]
    stop = full.message.content.strip()[1:3]
    assert stop
    cut = served.chat(max_tokens=TOKENS, stop=[stop, "never said"]).choices[0]
    assert cut.message.content == full.message.content[:full.message.content.index(stop)]
    assert cut.finish_reason == "stop"


def test_streamed_chunks_concatenate_to_the_answer(served):
    whole = served.chat().choices[0]
    chunks = list(served.chat(stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == whole.message.content
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [whole.finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens > 0
    assert len({c.id for c in chunks}) == 1


def test_completions_render_the_prompt_as_generate_does(served):
    expected = served.generate(served.fmt.render(served.tokenizer, PROMPT))
    reply = served.client.completions.create(model=NAME, prompt=PROMPT, max_tokens=TOKENS, temperature=0)
    assert reply.choices[0].text == expected and reply.object == "text_completion"
    assert reply.choices[0].finish_reason in ("stop", "length") and reply.usage.prompt_tokens > 0
    stream = served.client.completions.create(model=NAME, prompt=PROMPT, max_tokens=TOKENS, temperature=0, stream=True)
    assert "".join(c.choices[0].text for c in stream) == expected


def test_concurrent_clients_are_batched(served, monkeypatch):
    """One request holds the worker; two more arrive meanwhile and are generated together, each correctly."""
    sizes: list[int] = []
    gate = threading.Event()
    real = serve_worker.generate_answers

    def held(model: Any, tokenizer: Any, texts: list[str], *args: Any, **kwargs: Any) -> Any:
        sizes.append(len(texts))
        assert gate.wait(30)
        return real(model, tokenizer, texts, *args, **kwargs)

    monkeypatch.setattr(serve_worker, "generate_answers", held)
    prompts = [PROMPT, "Print the maximum of two integers a and b.", "Read n and print n squared."]
    answers: dict[int, str] = {}

    def ask(i: int) -> None:
        answers[i] = served.chat(prompts[i]).choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(3)]
    threads[0].start()
    _wait(lambda: sizes == [1])
    for thread in threads[1:]:
        thread.start()
    worker = served.app.state.served.worker
    _wait(lambda: worker.jobs.qsize() == 2)
    gate.set()
    for thread in threads:
        thread.join(60)
    assert sizes == [1, 2]
    expected = [served.generate(served.fmt.render(served.tokenizer, p)) for p in prompts]
    assert [answers[i] for i in range(3)] == expected and len(set(expected)) == 3


def _wait(condition: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


CHAT = {"model": NAME, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 2}
BAD_REQUESTS = {
    "unknown model": ("/chat/completions", {**CHAT, "model": "gpt-4"}, 404, "model"),
    "malformed JSON": ("/chat/completions", b'{"model": "tiny-test", "messages": [', 400, None),
    "not an object": ("/chat/completions", b"[1, 2]", 400, None),
    "missing messages": ("/chat/completions", {"model": NAME}, 400, "messages"),
    "empty messages": ("/chat/completions", {**CHAT, "messages": []}, 400, "messages"),
    "unknown role": ("/chat/completions", {**CHAT, "messages": [{"role": "robot", "content": "hi"}]}, 400,
                     "messages[0].role"),
    "prompt + max_tokens beyond the context": ("/chat/completions", {**CHAT, "max_tokens": 1024}, 400, "max_tokens"),
    "prompt beyond the context": ("/completions", {"model": NAME, "prompt": "count " * 1200}, 400, "prompt"),
    "negative temperature": ("/chat/completions", {**CHAT, "temperature": -0.5}, 400, "temperature"),
    "top_p 0": ("/chat/completions", {**CHAT, "top_p": 0}, 400, "top_p"),
    "top_p above 1": ("/completions", {"model": NAME, "prompt": PROMPT, "top_p": 1.5}, 400, "top_p"),
    "max_tokens 0": ("/chat/completions", {**CHAT, "max_tokens": 0}, 400, "max_tokens"),
    "negative max_tokens": ("/completions", {"model": NAME, "prompt": PROMPT, "max_tokens": -3}, 400, "max_tokens"),
    "n 2": ("/chat/completions", {**CHAT, "n": 2}, 400, "n"),
    "wrong type": ("/chat/completions", {**CHAT, "temperature": "hot"}, 400, "temperature"),
    "empty prompt": ("/completions", {"model": NAME, "prompt": ""}, 400, "prompt"),
    "seed beyond 64 bits": ("/completions", {"model": NAME, "prompt": PROMPT, "seed": 2**64}, 400, "seed"),
    "message without content": ("/chat/completions", {**CHAT, "messages": [{"role": "user"}]}, 400,
                                "messages[0].content"),
    "unknown route": ("/embeddings", {"model": NAME, "input": "x"}, 404, None),
}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
def test_bad_requests_are_openai_errors_and_the_server_goes_on(served, case):
    path, body, status, param = BAD_REQUESTS[case]
    code, reply = served.post(path, body)
    assert code == status, reply
    assert set(reply) == {"error"} and set(reply["error"]) == {"message", "type", "param", "code"}
    assert reply["error"]["type"] == "invalid_request_error" and reply["error"]["param"] == param
    assert reply["error"]["message"].strip()
    assert served.chat(max_tokens=1).choices[0].message.content is not None


def test_a_failed_generation_is_a_500_and_the_server_goes_on(served, monkeypatch):
    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("out of memory")

    monkeypatch.setattr(serve_worker, "generate_answers", broken)
    code, reply = served.post("/chat/completions", CHAT)
    assert code == 500 and reply["error"]["type"] == "server_error" and "out of memory" in reply["error"]["message"]
    monkeypatch.undo()
    assert served.chat(max_tokens=1).choices[0].message.content is not None


def test_the_openai_client_raises_the_errors(served):
    with pytest.raises(openai.BadRequestError) as err:
        served.chat(n=2)
    assert err.value.param == "n" and "n must be 1" in err.value.message
    with pytest.raises(openai.NotFoundError) as err:
        served.client.chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])
    assert err.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as err:
        served.chat(max_tokens=5000)
    assert err.value.code == "context_length_exceeded" and "1024" in err.value.message


@pytest.mark.parametrize("args, says", [
    (["--port", "70000", "--config", QUICK], "--port must be in 0..65535"),
    (["--max_batch_size", "0", "--config", QUICK], "--max_batch_size must be at least 1"),
    (["--temperature", "-1", "--config", QUICK], "--temperature must be >= 0"),
    ([], "serve needs a model"),
    (["--prot", "1"], "serve:"),
])
def test_bad_options_are_one_error_line(args, says, capsys):
    assert main(["serve", *args]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and says in lines[0]


def test_default_model_names(tmp_path):
    from lightning_lora.commands.serve import default_model_name
    from lightning_lora.training.restore import Restored

    run = tmp_path / "checkpoints" / "quickstart"
    run.mkdir(parents=True)
    (run / "step000200.ckpt").write_bytes(b"")
    (run / "best").symlink_to("step000200.ckpt")
    assert default_model_name(Restored(None, None, PromptFormat(), "", ckpt_path=run / "best"), None) == \
        "quickstart-step000200"
    base = Restored(None, None, PromptFormat(), "", config_path=Path("configs/quickstart.yaml"))
    assert default_model_name(base, None) == "quickstart-base"
    assert default_model_name(base, "exported/merged/") == "merged"
    assert default_model_name(base, "real:qwen2.5-coder-0.5b-instruct") == "qwen2.5-coder-0.5b-instruct"


def test_a_port_in_use_is_one_error_line_before_the_model_loads(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--config", QUICK, "--port", str(port)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [f"error: serve: cannot listen on 127.0.0.1:{port}: Address already in use."]


def test_the_command_serves_until_ctrl_c(tmp_path):
    """``python -m lightning_lora serve`` in a process of its own: it answers, and Ctrl-C stops it with status 0 and
    one line, ending the stream in progress."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    child = subprocess.Popen([sys.executable, "-m", "lightning_lora", "serve", "--config", QUICK, "--port", "0",
                              "--max_new_tokens", "4"], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        first = ""
        while not first.startswith("serve: "):  # after any warnings of the libraries loading the model
            first = child.stderr.readline()
            assert first, "the server ended before it started"
        url = re.search(r"on (http://\S+/v1) ", first)
        assert url, first
        client = openai.OpenAI(base_url=url.group(1), api_key="unused", max_retries=0, timeout=60)
        assert [m.id for m in client.models.list().data] == ["quickstart-base"]
        reply = client.chat.completions.create(model="quickstart-base", messages=[{"role": "user", "content": "hi"}])
        assert reply.choices[0].finish_reason in ("stop", "length") and reply.usage.completion_tokens > 0
        # Ctrl-C during a long stream: the stream ends at once with an error event, and the server stops.
        body = {"model": "quickstart-base", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 900,
                "stream": True}
        request = urllib.request.Request(url.group(1) + "/chat/completions", data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as stream:
            assert stream.readline().startswith(b"data: ")
            child.send_signal(signal.SIGINT)
            events = stream.read().decode()
        assert "The server is shutting down." in events and events.rstrip().endswith("data: [DONE]")
        assert child.wait(30) == 0
        rest = child.stderr.read()
    finally:
        child.kill()
    assert "system prompt: 'You are a helpful coding assistant.'" in first
    assert rest.strip().splitlines() == ["serve: stopped"], rest
