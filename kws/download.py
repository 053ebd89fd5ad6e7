"""Resumable, verified HTTP(S) downloads: a file appears under its name only once its sha256 matches.

Bytes arrive in ``<dest>.part``. An interrupted download (network error, Ctrl-C) keeps the
``.part`` and the next call resumes it with ``Range: bytes=N-``; a server that ignores the
Range header (status 200 instead of 206) gets the file from the start, cleanly. The complete
file is checked against the expected sha256 and only then renamed to ``dest`` (same directory,
so ``os.replace`` is atomic). A mismatch deletes the ``.part``: its bytes are wrong somewhere,
and resuming would keep them.

Only the standard library (``urllib.request``) talks to the network; ``tqdm`` draws the
progress bar where it is installed, else a one-line ``\\r`` bar does.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import socket
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from . import __version__
from .errors import KwsError

#: Bytes read per network read and per hashing step.
CHUNK_SIZE = 1 << 20

#: Seconds without a byte from the server before the download counts as failed (and resumable).
TIMEOUT_S = 60.0

_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def normalise_sha256(value: str) -> str:
    """Lower-case hex digest, or :class:`KwsError` if ``value`` is not 64 hex digits."""
    digest = value.strip().lower()
    if not _SHA256.fullmatch(digest):
        raise KwsError(f"not a sha256 checksum (64 hex digits): {value!r}")
    return digest


def part_path(dest: Path) -> Path:
    """Where the bytes of ``dest`` collect until they are complete and verified."""
    return dest.with_name(dest.name + ".part")


def _describe(error: BaseException) -> str:
    """One line saying why a request failed, without the exception class noise."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        reason = error.reason
        if isinstance(reason, OSError) and reason.strerror:
            return reason.strerror
        return str(reason)
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out waiting for the server"
    if isinstance(error, http.client.IncompleteRead):
        return "the connection closed before the end of the file"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


#: What a failing network read or request raises: the download stops and stays resumable.
NETWORK_ERRORS = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError, socket.timeout)


class Progress:
    """A progress bar on stderr: tqdm if importable, else one ``\\r`` line.

    ``unit="B"`` counts bytes (shown in MiB), any other unit counts items (clips, files).
    ``enabled=None`` shows it only when stderr is a terminal, so logs and pipes get no
    carriage-return noise; ``True`` forces it, ``False`` silences it.
    """

    def __init__(
        self,
        description: str,
        total: int | None,
        *,
        initial: int = 0,
        unit: str = "B",
        enabled: bool | None = None,
    ) -> None:
        if enabled is None:
            enabled = bool(getattr(sys.stderr, "isatty", lambda: False)())
        self.enabled = enabled
        self.description = description
        self.total = total
        self.unit = unit
        self.done = initial
        self._bar = None
        self._last_text = ""
        if not enabled:
            return
        try:
            from tqdm import tqdm
        except ImportError:
            self._draw()
            return
        in_bytes = unit == "B"
        self._bar = tqdm(
            total=total, initial=initial, desc=description, unit=unit, unit_scale=in_bytes,
            unit_divisor=1024 if in_bytes else 1000, file=sys.stderr, leave=True,
        )

    def update(self, n: int) -> None:
        self.done += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
        else:
            self._draw()

    def _draw(self) -> None:
        if self.unit == "B":
            amount = f"{self.done / (1 << 20):,.1f} MiB"
        else:
            amount = f"{self.done:,}/{self.total:,} {self.unit}" if self.total else f"{self.done:,} {self.unit}"
        if self.total:
            fraction = min(self.done / self.total, 1.0)
            filled = int(fraction * 30)
            text = f"{self.description} [{'#' * filled}{'.' * (30 - filled)}] {fraction:6.1%} {amount}"
        else:
            text = f"{self.description} {amount}"
        if text != self._last_text:  # redraw only when something visible changed
            self._last_text = text
            sys.stderr.write("\r" + text)
            sys.stderr.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
        elif self._last_text:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def file_sha256(path: Path, *, progress: bool | None = False) -> str:
    """The sha256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle, Progress(
        f"verify {path.name}", os.fstat(handle.fileno()).st_size, enabled=progress
    ) as bar:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse:
    headers = {"User-Agent": f"kws/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout)


def _resume_offset(response: http.client.HTTPResponse, offset: int) -> int | None:
    """Where the body of ``response`` starts in the file: ``offset`` for a fitting 206, 0 for a
    200 (the server ignored Range and sends the whole file), None for a 206 that starts elsewhere
    and so cannot be appended."""
    if offset == 0 or response.status != 206:
        return 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is None or int(match.group(1)) != offset:
        return None
    return offset


def _total_size(response: http.client.HTTPResponse, start: int) -> int | None:
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if match is not None and match.group(3) != "*":
        return int(match.group(3))
    length = response.headers.get("Content-Length", "")
    return start + int(length) if length.isdigit() else None


def _kept(part: Path) -> str:
    size = part.stat().st_size if part.is_file() else 0
    return f" (kept {size:,} bytes in {part}; run again to resume)" if size else ""


def _receive(
    response: http.client.HTTPResponse, part: Path, start: int, url: str, progress: bool | None
) -> str:
    """Write the response body into ``part`` from byte ``start``; return the whole file's sha256.

    The first ``start`` bytes already in ``part`` are hashed before the new ones are appended,
    so the file is read once, not downloaded then read again.
    """
    digest = hashlib.sha256()
    total = _total_size(response, start)
    try:
        handle = open(part, "r+b" if start else "wb")
        if start:
            remaining = start
            while remaining > 0 and (chunk := handle.read(min(CHUNK_SIZE, remaining))):
                digest.update(chunk)
                remaining -= len(chunk)
            handle.truncate(start)  # a .part that grew past the 206's start is cut back to it
            handle.seek(start)
    except OSError as error:
        raise KwsError(f"cannot write {part}: {_describe(error)}") from None
    with handle, Progress(
        f"download {part.name.removesuffix('.part')}", total, initial=start, enabled=progress
    ) as bar:
        while True:
            try:
                chunk = response.read(CHUNK_SIZE)
            except NETWORK_ERRORS as error:
                handle.flush()
                raise KwsError(f"cannot download {url}: {_describe(error)}{_kept(part)}") from None
            if not chunk:
                break
            try:
                handle.write(chunk)
            except OSError as error:
                raise KwsError(f"cannot write {part}: {_describe(error)}") from None
            digest.update(chunk)
            bar.update(len(chunk))
    size = part.stat().st_size
    if total is not None and size != total:
        raise KwsError(f"cannot download {url}: the connection closed after {size:,} of {total:,} bytes{_kept(part)}")
    return digest.hexdigest()


def _finish(part: Path, dest: Path, digest: str, expected: str, url: str) -> None:
    if digest != expected:
        part.unlink(missing_ok=True)
        raise KwsError(
            f"checksum mismatch for {url}: expected sha256 {expected}, got {digest}; "
            f"deleted the download ({part})"
        )
    os.replace(part, dest)


def download(
    url: str,
    dest: Path,
    *,
    sha256: str,
    progress: bool | None = None,
    timeout: float = TIMEOUT_S,
    on_resume: Callable[[int], None] | None = None,
) -> None:
    """Fetch ``url`` to ``dest``, resuming ``dest.part`` if present; verify ``sha256``; rename.

    Raises :class:`KwsError` with a one-line reason when the server cannot be reached, answers
    with an error status, or the connection breaks (the ``.part`` is kept, so running again
    resumes), and when the complete file's checksum differs (the ``.part`` is deleted).
    ``progress``: None shows a bar only when stderr is a terminal, True forces it, False never.
    ``on_resume(offset)`` is called when the server agrees to continue a ``.part`` (a 206).
    """
    expected = normalise_sha256(sha256)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise KwsError(f"cannot download {url}: only http:// and https:// URLs are supported")
    dest = Path(dest)
    part = part_path(dest)
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise KwsError(f"cannot create {dest.parent}: {_describe(error)}") from None

    # Two attempts at most: resuming the .part, then a clean start if the resume cannot be used.
    for _attempt in range(2):
        offset = part.stat().st_size if part.is_file() else 0
        try:
            response = _open(url, offset, timeout)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:
                # Range not satisfiable: the .part already holds the whole file (or is longer).
                if file_sha256(part, progress=progress) == expected:
                    os.replace(part, dest)
                    return
                part.unlink()
                continue
            raise KwsError(f"cannot download {url}: {_describe(error)}") from None
        except NETWORK_ERRORS as error:
            raise KwsError(f"cannot download {url}: {_describe(error)}{_kept(part)}") from None
        except ValueError as error:  # a malformed URL (bad port, control characters)
            raise KwsError(f"cannot download {url}: {error}") from None

        with response:
            start = _resume_offset(response, offset)
            if start is None:
                part.unlink()
                continue
            if start and on_resume is not None:
                on_resume(start)
            digest = _receive(response, part, start, url, progress)
        _finish(part, dest, digest, expected, url)
        return
    raise KwsError(f"cannot download {url}: the server's partial responses do not fit {part}")
