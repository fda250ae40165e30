"""``chat`` driven as a user drives it: in a real pseudo-terminal (pexpect), keys and Ctrl-C / Ctrl-D included."""

from __future__ import annotations

import io
import os
import signal
import sys
import time
from pathlib import Path

import pytest

pexpect = pytest.importorskip("pexpect")

REPO = Path(__file__).resolve().parents[1]
QUICK = str(REPO / "configs" / "quickstart.yaml")


def _default_sigint() -> None:
    """Ctrl-C must reach the child even when the test suite runs as a background job (which ignores SIGINT,
    and children inherit that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _spawn(tmp_path: Path, *args: str) -> "pexpect.spawn":
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "TERM": "dumb"}
    child = pexpect.spawn(sys.executable, ["-m", "lightning_lora", "chat", "--config", QUICK, *args], cwd=str(tmp_path),
                          env=env, encoding="utf-8", timeout=120, dimensions=(40, 200),
                          preexec_fn=_default_sigint)
    child.logfile_read = io.StringIO()
    child.expect_exact("you> ")
    return child


def test_commands_history_dropping_and_ctrl_d(in_tmp):
    child = _spawn(in_tmp, "--max_new_tokens", "4")
    assert "system prompt: 'You are a helpful coding assistant.'" in child.before
    child.sendline("/system Answer in one line.")
    child.expect_exact("(system prompt: 'Answer in one line.')")
    child.expect_exact("you> ")
    child.sendline("hello")
    child.expect_exact("assistant> ")
    child.expect_exact("you> ")
    long_message = "count " * 300  # a few hundred tokens: the 1024-token context holds at most three of them
    for _ in range(6):
        child.sendline(long_message)
        child.expect_exact("you> ")
    child.sendline("/reset")
    child.expect_exact("(conversation reset)")
    child.expect_exact("you> ")
    child.sendline("/nope")
    child.expect_exact("(unknown command /nope;")
    child.expect_exact("you> ")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    log = child.logfile_read.getvalue()
    assert log.count("the oldest turns are dropped") == 1  # said once, though turns are dropped again and again
    assert log.count("assistant> ") == 7 and "Traceback" not in log


def test_ctrl_c_stops_the_reply_and_the_session_goes_on(in_tmp):
    # The random base model rarely says its end-of-turn token: a reply runs to the budget (half the context).
    child = _spawn(in_tmp, "--max_new_tokens", "100000")
    child.sendline("write a long story")
    child.expect_exact("assistant> ")
    time.sleep(0.3)
    child.sendintr()
    child.expect_exact("(stopped)")
    child.expect_exact("you> ")
    child.sendline("/exit")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and "Traceback" not in child.before
