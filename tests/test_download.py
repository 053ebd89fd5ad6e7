"""`kws data download`: resumable, verified downloads and safe extraction, against a loopback server.

Every test talks to a ThreadingHTTPServer on 127.0.0.1 that serves a small generated
Speech Commands-like tar.gz, with its own Range support (206 / 416) that can be switched off
or made to drop the connection half-way. Nothing here reaches the network.
"""

from __future__ import annotations

import hashlib
import io
import re
import socket
import tarfile
import threading
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from conftest import assert_one_error_line
import soundfile as sf

from kws.cli import main
from kws.data import archives

NAME = "speech_commands_v0.02"


def _wav_bytes(seed: int, seconds: float = 0.5) -> bytes:
    samples = (np.random.default_rng(seed).standard_normal(int(16000 * seconds)) * 3000).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, samples, 16000, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _tar_gz(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buffer.getvalue()


#: A tiny tree in the layout of the real archive: members are "./<word>/<speaker>_nohash_<n>.wav".
FAKE_TREE = {
    "./yes/0a7c2a8d_nohash_0.wav": _wav_bytes(1),
    "./no/0b09edd3_nohash_1.wav": _wav_bytes(2),
    "./_background_noise_/white_noise.wav": _wav_bytes(3, seconds=1.0),
    "./validation_list.txt": b"no/0b09edd3_nohash_1.wav\n",
    "./testing_list.txt": b"",
}
ARCHIVE = _tar_gz(FAKE_TREE)
SHA256 = hashlib.sha256(ARCHIVE).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload`` at any path, honouring ``Range: bytes=N-`` unless told not to."""

    server: "_Server"

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        server = self.server
        requested = self.headers.get("Range")
        server.ranges.append(requested)
        data = server.payload
        if server.status != 200:
            self.send_error(server.status)
            return
        start = 0
        match = re.fullmatch(r"bytes=(\d+)-", requested or "")
        if match and server.honour_range:
            start = int(match.group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if server.cut_after is not None:
            # Promise the whole body, send part of it, hang up: a dropped connection.
            self.wfile.write(body[: server.cut_after])
            self.wfile.flush()
            server.cut_after = None  # only once
            self.close_connection = True
            return
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.payload = ARCHIVE
        self.honour_range = True
        self.status = 200
        self.cut_after: int | None = None
        self.ranges: list[str | None] = []  # the Range header of every request, None if absent

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/x.tar.gz"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours *_proxy variables; a proxy must never see (or be asked for) loopback URLs.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")


@pytest.fixture
def server():
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "downloads"


def download(dest: Path, url: str, *extra: str, sha256: str | None = SHA256) -> int:
    argv = ["data", "download", "speech-commands", "--dest", str(dest), "--url", url, *extra]
    if sha256 is not None:
        argv += ["--sha256", sha256]
    return main(argv)


def assert_extracted(dest: Path) -> None:
    root = dest / NAME
    for name, content in FAKE_TREE.items():
        assert (root / name).read_bytes() == content
    audio, rate = sf.read(root / "yes" / "0a7c2a8d_nohash_0.wav", dtype="int16")
    assert rate == 16000 and len(audio) == 8000
    # Nothing but the archive and the tree: no .part, no temporary extraction directory.
    assert sorted(p.name for p in dest.iterdir()) == [NAME, f"{NAME}.tar.gz"]


# --- the whole path ------------------------------------------------------------------------


def test_download_verifies_and_extracts(server: _Server, dest: Path, capsys) -> None:
    assert download(dest, server.url) == 0
    out, err = capsys.readouterr()
    assert (dest / f"{NAME}.tar.gz").read_bytes() == ARCHIVE
    assert_extracted(dest)
    assert server.ranges == [None]  # one plain request
    assert "sha256 verified" in out and "extracted 5 files" in out
    assert err == ""  # no progress bar when stderr is not a terminal


def test_second_run_does_nothing_and_skips_a_verified_archive(server: _Server, dest: Path, capsys) -> None:
    assert download(dest, server.url) == 0
    capsys.readouterr()
    assert download(dest, server.url) == 0
    assert "already extracted" in capsys.readouterr().out
    assert server.ranges == [None]  # the second run asked the server nothing

    # Archive still there, tree gone: verify the archive, don't download it, extract again.
    import shutil

    shutil.rmtree(dest / NAME)
    assert download(dest, server.url) == 0
    out = capsys.readouterr().out
    assert "already downloaded and verified" in out
    assert server.ranges == [None]
    assert_extracted(dest)


def test_existing_archive_with_wrong_checksum_is_left_alone(server: _Server, dest: Path, capsys) -> None:
    dest.mkdir()
    (dest / f"{NAME}.tar.gz").write_bytes(b"not the archive")
    line = assert_one_error_line(download(dest, server.url), capsys.readouterr().err)
    assert "already there" in line and "delete it" in line
    assert (dest / f"{NAME}.tar.gz").read_bytes() == b"not the archive"
    assert server.ranges == []


def test_forced_progress_bar_goes_to_stderr(server: _Server, dest: Path, capsys) -> None:
    assert download(dest, server.url, "--progress") == 0
    assert "download" in capsys.readouterr().err
    assert_extracted(dest)


# --- resuming --------------------------------------------------------------------------------


def test_resumes_a_partial_download_with_range(server: _Server, dest: Path, capsys) -> None:
    dest.mkdir()
    first = len(ARCHIVE) // 3
    (dest / f"{NAME}.tar.gz.part").write_bytes(ARCHIVE[:first])
    assert download(dest, server.url) == 0
    assert server.ranges == [f"bytes={first}-"]
    assert (dest / f"{NAME}.tar.gz").read_bytes() == ARCHIVE
    assert "resuming" in capsys.readouterr().err
    assert_extracted(dest)


def test_complete_part_gets_416_and_is_verified(server: _Server, dest: Path) -> None:
    dest.mkdir()
    (dest / f"{NAME}.tar.gz.part").write_bytes(ARCHIVE)
    assert download(dest, server.url) == 0
    assert server.ranges == [f"bytes={len(ARCHIVE)}-"]
    assert_extracted(dest)


def test_server_ignoring_range_starts_over_cleanly(server: _Server, dest: Path) -> None:
    server.honour_range = False
    dest.mkdir()
    # Garbage in the .part: had it been kept and appended to, the checksum would fail.
    (dest / f"{NAME}.tar.gz.part").write_bytes(b"\xff" * 1000)
    assert download(dest, server.url) == 0
    assert server.ranges == ["bytes=1000-"]  # asked to resume, got a 200 with the whole file
    assert (dest / f"{NAME}.tar.gz").read_bytes() == ARCHIVE
    assert_extracted(dest)


def test_dropped_connection_keeps_the_part_and_the_next_run_resumes(server: _Server, dest: Path, capsys) -> None:
    server.cut_after = 10_000
    line = assert_one_error_line(download(dest, server.url), capsys.readouterr().err)
    assert "cannot download" in line and "run again to resume" in line
    part = dest / f"{NAME}.tar.gz.part"
    assert part.read_bytes() == ARCHIVE[:10_000]
    assert not (dest / f"{NAME}.tar.gz").exists()

    assert download(dest, server.url) == 0
    assert server.ranges == [None, "bytes=10000-"]
    assert_extracted(dest)


# --- failures: one line, exit 2, nothing half-made left -----------------------------------


def test_wrong_checksum_fails_and_removes_the_part(server: _Server, dest: Path, capsys) -> None:
    wrong = "0" * 64
    line = assert_one_error_line(download(dest, server.url, sha256=wrong), capsys.readouterr().err)
    assert "checksum mismatch" in line and f"expected sha256 {wrong}" in line and f"got {SHA256}" in line
    assert list(dest.iterdir()) == []  # no archive, no .part, no tree


def test_published_checksum_is_used_for_a_mirror_without_sha256(server: _Server, dest: Path, capsys) -> None:
    # The fake archive is not the real one, so the table's checksum must reject it.
    line = assert_one_error_line(download(dest, server.url, sha256=None), capsys.readouterr().err)
    assert f"expected sha256 {archives.KNOWN['speech-commands'][2].sha256}" in line
    assert list(dest.iterdir()) == []


def test_version_without_published_checksum_requires_sha256(server: _Server, dest: Path, capsys, monkeypatch) -> None:
    unpinned = replace(archives.KNOWN["speech-commands"][2], sha256=None, checksum_source="")
    monkeypatch.setattr(archives, "lookup", lambda corpus, version=None: unpinned)
    line = assert_one_error_line(download(dest, server.url, sha256=None), capsys.readouterr().err)
    assert "--sha256" in line
    assert server.ranges == []
    assert download(dest, server.url) == 0  # with --sha256 it goes through
    assert_extracted(dest)


def test_connection_refused(dest: Path, capsys) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago and has no listener
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = assert_one_error_line(download(dest, f"http://127.0.0.1:{port}/x.tar.gz"), capsys.readouterr().err)
    assert "cannot download" in line and "refused" in line.lower()
    assert not (dest / f"{NAME}.tar.gz").exists()


def test_connection_refused_keeps_an_existing_part(dest: Path, capsys) -> None:
    dest.mkdir()
    part = dest / f"{NAME}.tar.gz.part"
    part.write_bytes(ARCHIVE[:500])
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    line = assert_one_error_line(download(dest, f"http://127.0.0.1:{port}/x.tar.gz"), capsys.readouterr().err)
    assert "kept 500 bytes" in line
    assert part.read_bytes() == ARCHIVE[:500]


def test_http_error_status(server: _Server, dest: Path, capsys) -> None:
    server.status = 404
    line = assert_one_error_line(download(dest, server.url), capsys.readouterr().err)
    assert "HTTP 404" in line


@pytest.mark.parametrize("bad", ["abc", "g" * 64, "0" * 63])
def test_malformed_sha256(server: _Server, dest: Path, capsys, bad: str) -> None:
    line = assert_one_error_line(download(dest, server.url, sha256=bad), capsys.readouterr().err)
    assert "sha256" in line
    assert server.ranges == []


def test_unsupported_url_scheme(dest: Path, capsys, tmp_path: Path) -> None:
    line = assert_one_error_line(download(dest, f"file://{tmp_path}/x.tar.gz"), capsys.readouterr().err)
    assert "http://" in line


# --- unsafe or broken archives ---------------------------------------------------------------


@pytest.mark.parametrize(
    "members, links, reason",
    [
        ({"./yes/a_nohash_0.wav": b"x", "../evil": b"owned"}, None, ".."),
        ({"./yes/../../evil": b"owned"}, None, ".."),
        ({"/tmp/evil": b"owned"}, None, "absolute"),
        ({"./yes/a_nohash_0.wav": b"x"}, {"./yes/link": "/etc/passwd"}, "link"),
    ],
)
def test_unsafe_members_are_refused(server: _Server, dest: Path, tmp_path: Path, capsys, members, links, reason) -> None:
    server.payload = _tar_gz(members, links)
    code = download(dest, server.url, sha256=hashlib.sha256(server.payload).hexdigest())
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert "refusing" in line and reason in line
    assert not (tmp_path / "evil").exists() and not Path("/tmp/evil").exists()
    # The verified archive stays; no tree and no temporary directory do.
    assert sorted(p.name for p in dest.iterdir()) == [f"{NAME}.tar.gz"]


def test_corrupt_archive_with_matching_checksum(server: _Server, dest: Path, capsys) -> None:
    server.payload = b"this is not gzip data" * 10
    code = download(dest, server.url, sha256=hashlib.sha256(server.payload).hexdigest())
    line = assert_one_error_line(code, capsys.readouterr().err)
    assert "not a readable tar.gz" in line
    assert sorted(p.name for p in dest.iterdir()) == [f"{NAME}.tar.gz"]


# --- kws data list and the table -----------------------------------------------------------


def test_list_shows_urls_and_presence(server: _Server, dest: Path, capsys) -> None:
    assert main(["data", "list", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    for version in (1, 2):
        assert archives.KNOWN["speech-commands"][version].url in out
    assert out.count("present: no") == 2

    assert download(dest, server.url) == 0
    capsys.readouterr()
    assert main(["data", "list", "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert f"extracted in {dest / NAME}" in out and out.count("present: no") == 1


def test_table_is_frozen_and_well_formed() -> None:
    with pytest.raises(TypeError):
        archives.KNOWN["other"] = {}  # type: ignore[index]
    for versions in archives.KNOWN.values():
        for version, archive in versions.items():
            assert archive.version == version
            assert archive.url.startswith("http://download.tensorflow.org/data/speech_commands_v0.0")
            assert archive.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", archive.sha256)
            assert (archive.sha256 is None) == (archive.checksum_source == "")


def test_unknown_corpus_is_a_usage_error(capsys) -> None:
    line = assert_one_error_line(main(["data", "download", "librispeech"]), capsys.readouterr().err)
    assert "invalid choice" in line
