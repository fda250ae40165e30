"""``serve``: an OpenAI-compatible HTTP server for a checkpoint, a config's base model or an exported folder.

``/v1/models``, ``/v1/chat/completions`` and ``/v1/completions``, in the prompt format training used:

    python -m lightning_lora serve --ckpt_path checkpoints/quickstart/best            # http://127.0.0.1:8000/v1
    python -m lightning_lora serve --model exported/merged --host 0.0.0.0 --port 8080 --model_name my-model
    python -m lightning_lora serve --ckpt_path checkpoints/<run>/best --engine llamacpp    # llama.cpp on the CPU

The model is loaded by :func:`~lightning_lora.training.restore.restore`, as ``generate`` loads it; the app is
:func:`lightning_lora.inference.server.create_app`, run by uvicorn. The decoding options are the defaults for the
fields a request leaves out. Ctrl-C stops the server.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path
from typing import Any, Callable

import uvicorn
from jsonargparse import ArgumentParser

from lightning_lora.commands.model_options import add_generation_arguments, add_model_arguments, options_of
from lightning_lora.errors import UserError, parse_command_line
from lightning_lora.training.restore import Restored, restore

#: Engines ``serve`` answers with (streams too); ``refill`` and ``vllm`` are for many prompts at once.
SERVE_ENGINES = ("generate", "llamacpp")


def build_parser() -> ArgumentParser:
    p = ArgumentParser(prog="lightning_lora serve", exit_on_error=False, description=__doc__.strip().splitlines()[0])
    add_model_arguments(p)
    p.add_argument("--host", type=str, default="127.0.0.1", help="address to listen on (0.0.0.0: every interface)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (0: any free port, printed at start)")
    p.add_argument("--model_name", type=str | None, default=None,
                   help="the model id clients send (default: from the source, e.g. quickstart-step000100)")
    p.add_argument("--max_batch_size", type=int, default=8,
                   help="most non-streaming requests with equal settings generated together")
    p.add_argument("--engine", type=str, default="generate",
                   help="generate (transformers) or llamacpp (llama.cpp on the CPU, pip install llama-cpp-python: "
                        "a LoRA of a fetched real model runs as its release GGUF + the adapter as GGUF)")
    add_generation_arguments(p)
    return p


def default_model_name(loaded: Restored, model: str | None) -> str:
    """``<run>-<checkpoint>`` for a checkpoint, ``<config>-base`` for a config's base model, the folder's name for
    ``--model`` (the model's name for ``real:<name>``)."""
    if model is not None:
        return Path(model.removeprefix("real:")).name or model
    checkpoint = loaded.checkpoint_file
    if checkpoint is not None:
        return f"{checkpoint.parent.name}-{checkpoint.stem}"
    return f"{Path(loaded.config_path or 'model').stem}-base"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` before the model loads, so a port in use is one line at once."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise UserError(f"serve: cannot listen on {host}:{port}: {err.strerror or err}.") from err
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def main(argv: list[str]) -> int:
    """``python -m lightning_lora serve ...``; see the module docstring."""
    args = parse_command_line(build_parser(), argv[1:], "serve")
    if not 0 <= args.port <= 65535:
        raise UserError(f"--port must be in 0..65535, got {args.port}.")
    if args.max_batch_size < 1:
        raise UserError(f"--max_batch_size must be at least 1, got {args.max_batch_size}.")
    if args.engine not in SERVE_ENGINES:
        raise UserError(f"--engine must be one of {', '.join(SERVE_ENGINES)}, got {args.engine!r}.")
    if args.model_name is not None and not args.model_name.strip():
        raise UserError("--model_name must not be empty.")
    options = options_of(args)
    sock = listen(args.host, args.port)
    try:
        return _serve(args, options, sock)
    finally:
        sock.close()


class StoppingServer(uvicorn.Server):
    """uvicorn's server whose Ctrl-C also calls ``on_exit`` (:func:`~lightning_lora.inference.server.stop_generating`):
    the stream being generated ends and the requests waiting are refused, so the graceful shutdown does not wait for
    whole answers nobody will read."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: Any) -> None:
        self._on_exit()
        super().handle_exit(sig, frame)


def _serve(args: Any, options: Any, sock: socket.socket) -> int:
    from lightning_lora.inference.server import create_app, stop_generating

    if args.engine == "llamacpp":
        from lightning_lora.inference.llamacpp_engine import llama_cpp_module

        llama_cpp_module()  # not installed: one line before the model loads
    loaded = restore(args.ckpt_path, args.config, args.model, command="serve", text_model=True)
    if args.system_prompt is not None:
        loaded.prompt.system_prompt = args.system_prompt or None
    name = args.model_name or default_model_name(loaded, args.model)
    app = create_app(loaded.model, loaded.tokenizer, loaded.prompt, name, options, args.max_batch_size, args.engine)
    print(f"serve: {loaded.source} as {name!r} on {_url(sock)} with engine {args.engine} (system prompt: "
          f"{loaded.prompt.system_prompt!r}); "
          "Ctrl-C stops", file=sys.stderr, flush=True)
    server = StoppingServer(uvicorn.Config(app, log_level="warning", access_log=False), lambda: stop_generating(app))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shuts down on Ctrl-C, then raises the signal again
        pass
    print("serve: stopped", file=sys.stderr)
    return 0
