"""Where files go, and how they are written so that no reader ever sees half of one: the one place for each.

- paths: the cache (generated models and data, fetched models) and a run's folders (``checkpoints/<run>``,
  ``tb_logs/<run>``);
- atomic writes: a temporary file in the target's folder, flushed and renamed over the target (a rename
  within one filesystem is atomic), removed on any failure;
- symlink swaps: a new link under a unique temporary name, renamed over the old one;
- locks: ``flock`` on a lock file, freed by the kernel when the process ends however it ends;
- text that is not UTF-8: the line and byte offset of the first bad byte, for a one-line error.

No torch, no Lightning: every layer may use it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import socket
import tempfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from lightning_lora.errors import UserError

CHECKPOINT_ROOT = Path("checkpoints")
#: Where the default TensorBoard logger of the CLI writes (``tb_logs/<run_name>/version_N``).
LOG_ROOT = Path("tb_logs")


def default_cache_dir() -> Path:
    """Where generated artefacts live: ``$LIGHTNING_LORA_CACHE`` or ``~/.cache/lightning_lora``."""
    return Path(os.environ.get("LIGHTNING_LORA_CACHE", Path.home() / ".cache" / "lightning_lora"))


def checkpoint_dir(run_name: str) -> Path:
    """``checkpoints/<run_name>``."""
    return CHECKPOINT_ROOT / run_name


def atomic_write(path: Path, write: Callable[[IO[bytes]], None], durable: bool = False) -> Path:
    """Call ``write`` on a temporary file beside ``path``, then rename it over ``path``; the parent is created.

    A reader sees the old file or the new one, never a part. With ``durable`` the data and the rename are
    fsync'ed (they survive a power cut). The temporary file is removed whatever goes wrong.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent, path.name)  # left by a writer killed mid-save (kill -9, power cut)
    handle, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{_writer_tag()}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        with open(tmp, "wb") as f:  # by name: the writer (and a test's fault injection) sees which file it writes
            write(f)
            f.flush()
            if durable:
                os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    return path


#: ``.<target>.<pid>@<host hash>.<random>.tmp``: an atomic write's temporary file, named after its writer.
_TEMPORARY = re.compile(r"^\.(?P<target>.+)\.(?P<pid>\d+)@(?P<host>[0-9a-f]{8})\.[^.]+\.tmp$")


def _host_tag() -> str:
    return f"{zlib.crc32(socket.gethostname().encode()):08x}"


def _writer_tag() -> str:
    """``<pid>@<host hash>``: who writes a temporary file, so a later writer can tell whether it is still alive."""
    return f"{os.getpid()}@{_host_tag()}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_temporaries(folder: Path, target: str | None = None) -> list[Path]:
    """Remove the temporary files :func:`atomic_write` left in ``folder`` (for ``target`` only, if given) whose
    writer, a process of this host, has ended (a kill -9 or a power cut mid-save); return them. A live writer's
    file, another host's, and any file not named like one are left alone."""
    removed = []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    host = _host_tag()
    for name in names:
        match = _TEMPORARY.match(name)
        if match is None or (target is not None and match["target"] != target) or match["host"] != host:
            continue
        if int(match["pid"]) == os.getpid() or _alive(int(match["pid"])):
            continue
        stale = Path(folder) / name
        with contextlib.suppress(OSError):
            stale.unlink()
            removed.append(stale)
    return removed


def non_utf8_place(data: bytes, start_line: int = 1, start_offset: int = 0) -> str | None:
    """``line 4, byte offset 57 (0xff)``: where the first byte of ``data`` that is not UTF-8 is (``data`` begins at
    line ``start_line``, byte ``start_offset`` of its file), or None when all of it decodes."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = start_line + data.count(b"\n", 0, err.start)
        return f"line {line}, byte offset {start_offset + err.start} (0x{data[err.start]:02x})"
    return None


def find_non_utf8(path: Path, chunk_bytes: int = 8 << 20) -> str | None:
    """Where the first byte of the file ``path`` that is not UTF-8 is (see :func:`non_utf8_place`), or None;
    read in whole-line chunks, so a large file costs one pass and little memory."""
    line, offset = 1, 0
    with open(path, "rb") as f:
        while True:
            chunk = f.read(chunk_bytes)
            if not chunk:
                return None
            chunk += f.readline()  # end at a line's end: no character is split between chunks
            place = non_utf8_place(chunk, line, offset)
            if place is not None:
                return place
            line += chunk.count(b"\n")
            offset += len(chunk)


def read_utf8_text(path: Path, what: str) -> str:
    """The file ``path`` as text; a byte that is not UTF-8 is a UserError naming ``what``, the line and the byte
    offset."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UserError(f"{what}, {non_utf8_place(data)}: not UTF-8 text; save the file as UTF-8.") from None


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path: Path, data: Any, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write ``data`` as JSON (and a final newline) to ``path`` atomically."""
    return atomic_write_text(path, json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")


def atomic_write_jsonl(path: Path, rows: Any) -> Path:
    """Write ``rows`` as JSON lines to ``path`` atomically."""
    return atomic_write_text(path, "".join(json.dumps(row) + "\n" for row in rows))


def link_target(path: Path) -> str | None:
    """What a symlink points to, or None where ``path`` is no symlink."""
    return os.readlink(path) if Path(path).is_symlink() else None


def swap_symlink(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` (a name relative to the link's folder) in one rename: readers see the old
    target or the new one, never a missing link."""
    link = Path(link)
    if link_target(link) == target:
        return
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(target, tmp)
    try:
        os.replace(tmp, link)
    finally:
        tmp.unlink(missing_ok=True)


def _open_for_lock(path: Path) -> int:
    """A descriptor to ``flock``: a folder itself (no lock file left in it), else a file, created if missing."""
    path = Path(path)
    if path.is_dir():
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


def try_lock(path: Path) -> int | None:
    """An exclusive ``flock`` on ``path`` (a folder, or a file created if missing) without waiting: the open
    descriptor, or None when another process holds it. :func:`unlock` (or the process's end) frees it."""
    fd = _open_for_lock(path)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int) -> None:
    """Free a lock taken by :func:`try_lock` or :func:`locked` (the lock file stays: removing it would race
    with a process that is opening it)."""
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (a folder, or a file created if missing) for the block, waiting for
    another holder to finish. Two processes that update one file (read, change, write) both take it, so neither
    loses the other's change.
    """
    fd = _open_for_lock(path)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        unlock(fd)
