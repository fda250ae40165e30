"""Score checkpoints in another process while training goes on: :class:`BackgroundScorer` keeps one worker process
(``python -m lightning_lora.commands.benchmark_worker``) fed with checkpoint paths and reads back which are done.

The worker writes each checkpoint's ``<stem>.samples.jsonl`` and ``<stem>.results.json`` beside it, each atomically,
exactly as the in-process benchmark does, and records nothing: the fit records a score when it arrives (scores.json,
``best``, keep-best, TensorBoard), so the run folder keeps one writer of its records while the fit lives. A score the
worker finished but the fit never recorded (the fit was killed in between) is a results file newer than its
checkpoint: :func:`finished_results` finds it, and a resumed fit or ``benchmark --checkpoints_dir D --unscored``
records it without generating again.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Callable

from lightning_lora.benchmark.settings import BenchmarkSettings
from lightning_lora.files import remove_stale_temporaries

WORKER_MODULE = "lightning_lora.commands.benchmark_worker"
#: The worker's stderr (start-up, warnings, a traceback if it dies), beside the checkpoints.
WORKER_LOG = "benchmark_worker.log"
#: Variables of a distributed launch: the worker is a process of its own, not one more rank.
_LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "NODE_RANK", "GROUP_RANK", "ROLE_RANK",
                     "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_RUN_ID", "PL_GLOBAL_SEED", "PL_TRAINER_GPUS")
#: Worker deaths in a row, without a checkpoint scored in between, after which the worker is not started again.
DEATHS_BEFORE_GIVING_UP = 2


def results_path(checkpoint: Path) -> Path:
    """``stepNNNNNN.results.json`` beside ``stepNNNNNN.ckpt``."""
    return checkpoint.with_name(checkpoint.stem + ".results.json")


def finished_results(checkpoint: Path, step: int) -> dict[str, Any] | None:
    """The results of ``checkpoint`` written after it (by a worker, or an in-process benchmark), or None.

    A results file older than its checkpoint belongs to an earlier file of the same name (a step trained again after
    a resume from before it): it is not this checkpoint's score."""
    path = results_path(checkpoint)
    try:
        if path.stat().st_mtime_ns < checkpoint.stat().st_mtime_ns:
            return None
        results = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    summary = results.get("summary", {}) if isinstance(results, dict) else {}
    return results if summary.get("step") == step and summary.get("checkpoint") == checkpoint.name else None


def results_seconds(results: dict[str, Any]) -> float:
    """The benchmark's own time, read from its results: generation plus scoring (what an in-process benchmark
    measures around them), for a score whose worker did not say."""
    summary = results["summary"]
    return float(summary.get("generation", {}).get("generation_time_s", 0.0)) + float(summary.get("wall_time_s", 0.0))


@dataclass(frozen=True)
class Arrival:
    """A checkpoint the worker is done with: its results file written (``error`` None), or why not."""

    checkpoint: Path
    step: int
    seconds: float | None = None
    error: str | None = None


class BackgroundScorer:
    """One worker process for a run folder; checkpoints are scored one at a time, in the order submitted.

    Args:
        checkpoints_dir: the run folder (its ``config.yaml`` builds the worker's model).
        settings: the benchmark settings, as the in-process benchmark would use them (system prompt resolved).
        threads: torch threads of the worker (``OMP_NUM_THREADS`` too), so training keeps the other cores.
        device: where the worker puts the model (``cpu``, ``cuda:1``).
        say: where notes about the worker go (a worker that died and was started again, or given up on).
    """

    def __init__(self, checkpoints_dir: Path, settings: BenchmarkSettings, threads: int, device: str,
                 say: Callable[[str], None]) -> None:
        self.checkpoints_dir = Path(checkpoints_dir)
        self.settings = settings.replace(progress=False)  # no bars from another process; results are the same
        self.threads, self.device, self.say = threads, device, say
        #: Submitted and not done yet, in order; the worker has been sent each of those once it runs.
        self.waiting: list[tuple[Path, int]] = []
        #: Why the worker is not started again (it kept dying), or None.
        self.broken: str | None = None
        self._process: subprocess.Popen | None = None
        self._replies: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._deaths_in_a_row = 0
        self._log: IO[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.checkpoints_dir / WORKER_LOG

    def submit(self, checkpoint: Path, step: int) -> None:
        """Queue ``checkpoint``; the worker starts at the next :meth:`arrived` if it is not running."""
        self.waiting.append((Path(checkpoint).absolute(), step))
        if self._process is not None:
            self._send(self.waiting[-1][0])

    def arrived(self, wait: bool = False) -> list[Arrival]:
        """The checkpoints done since the last call, in order; ``wait``: block until every submitted one is done."""
        done: list[Arrival] = []
        while self.waiting:
            if self.broken is not None:
                done += [Arrival(path, step, error=self.broken) for path, step in self.waiting]
                self.waiting.clear()
                break
            if self._process is None:
                self._start()
            try:
                reply = self._replies.get(block=wait)
            except queue.Empty:
                break
            if reply is None:  # the worker's stdout ended: it exited
                self._on_exit()
                continue
            path, step = self.waiting.pop(0)
            assert reply.get("checkpoint") == str(path), (reply, path)
            self._deaths_in_a_row = 0
            done.append(Arrival(path, int(reply.get("step", step)), reply.get("seconds"), reply.get("error")))
        return done

    def stop(self) -> None:
        """End the worker; what it was scoring is lost (no results file is half written) and stays in :attr:`waiting`."""
        process, self._process = self._process, None
        if process is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            remove_stale_temporaries(self.checkpoints_dir)  # of a results file it was writing
        if self._log is not None:
            self._log.close()
            self._log = None

    def _start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in _LAUNCH_VARIABLES}
        env.update(OMP_NUM_THREADS=str(self.threads), MKL_NUM_THREADS=str(self.threads), TOKENIZERS_PARALLELISM="false")
        # The package this fit runs, whatever else is installed or wherever the fit was started from.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[2]),
                                                          env.get("PYTHONPATH")]))
        if self._log is None:
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - open while the worker lives
        command = [sys.executable, "-m", WORKER_MODULE, "--checkpoints_dir", str(self.checkpoints_dir.absolute()),
                   "--settings", json.dumps(self.settings.as_dict()), "--threads", str(self.threads),
                   "--device", self.device]
        # Its own session: a Ctrl-C in the terminal reaches the fit, which stops the worker itself.
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env,
                                   text=True, bufsize=1, start_new_session=True)
        self._process, self._replies = process, queue.Queue()
        threading.Thread(target=_read_replies, args=(process.stdout, self._replies), daemon=True).start()
        for path, _ in self.waiting:
            self._send(path)

    def _send(self, path: Path) -> None:
        assert self._process is not None
        try:
            self._process.stdin.write(f"{path}\n")
            self._process.stdin.flush()
        except OSError:  # it died; its stdout ends too, and arrived() starts another
            pass

    def _on_exit(self) -> None:
        process, self._process = self._process, None
        assert process is not None
        status = process.wait()
        remove_stale_temporaries(self.checkpoints_dir)
        self._deaths_in_a_row += 1
        # Killed: by a signal (no last words); exited: its error is the last line of its log.
        how = f"was killed ({signal.Signals(-status).name})" if status < 0 else \
            f"exited with status {status} ({_last_line(self.log_path)})"
        if self._deaths_in_a_row >= DEATHS_BEFORE_GIVING_UP:
            self.broken = (f"the background benchmark worker {how}, {self._deaths_in_a_row} times in a row without "
                           f"scoring a checkpoint; not starting it again (its log: {self.log_path})")
        else:
            self.say(f"the background benchmark worker {how} while scoring {self.waiting[0][0].name}; starting it "
                     f"again for the {len(self.waiting)} checkpoint(s) waiting (its log: {self.log_path}).")


def _read_replies(stream: IO[str], replies: queue.Queue) -> None:
    """One JSON object a line from the worker; None when its stdout ends."""
    for line in stream:
        with contextlib.suppress(ValueError):
            replies.put(json.loads(line))
    replies.put(None)


def _last_line(path: Path) -> str:
    """The last non-empty line of the worker's log (its error, or the end of a traceback)."""
    try:
        lines = [line.strip() for line in path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "nothing in its log"
