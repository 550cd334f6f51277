"""Verified downloads against local files (file://, a 127.0.0.1 HTTP server), never the internet."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from torchvision import datasets as tvd

from datasets import DatasetError, download
from datasets.adbench import adbench_manifest
from datasets.banknote import BANKNOTE_FILE, load_banknote
from datasets.images import ImageSource, load_image_split
from datasets.tabular import load_adbench
from datasets.validation import validate_split

SHARED = Path(__file__).resolve().parents[2] / "shared" / "datasets"
GOOD = b"the real bytes\n" * 100
GOOD_SHA = hashlib.sha256(GOOD).hexdigest()
DEFAULT_TIMEOUT_S = download.TIMEOUT_S  # before a test shortens it


class _Server:
    """A 127.0.0.1 HTTP server answering from ``files`` (path -> bytes); 404 otherwise."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        files, requests = self.files, self.requests

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                requests.append(self.path)
                body = files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server() -> Iterator[_Server]:
    srv = _Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def closed_url() -> str:
    """A URL on 127.0.0.1 where nothing listens: what being offline looks like, quickly."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """A URL whose server accepts connections and never answers (a hanging network)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def _assert_clean_offline_error(err: pytest.ExceptionInfo, *parts: str) -> None:
    message = str(err.value)
    for part in parts:
        assert part in message, f"{part!r} missing from: {message}"
    assert "by hand" in message
    assert err.value.__suppress_context__ and err.value.__cause__ is None


def test_fetch_file_url(tmp_path: Path) -> None:
    src = tmp_path / "src.bin"
    src.write_bytes(GOOD)
    dest = tmp_path / "data" / "sub" / "file.bin"
    assert download.fetch("demo", src.as_uri(), dest, sha256=GOOD_SHA) == GOOD_SHA
    assert dest.read_bytes() == GOOD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]  # no .part left


def test_corrupt_download_rejected_then_retry_succeeds(tmp_path: Path, server: _Server) -> None:
    dest = tmp_path / "sub" / "file.bin"
    url = server.url + "/file.bin"
    server.files["/file.bin"] = GOOD[:-1] + b"X"
    with pytest.raises(DatasetError, match=r"demo: .*sha256.*moved to .*file\.bin\.corrupt"):
        download.ensure_file("demo", url, dest, sha256=GOOD_SHA)
    assert not dest.exists() and dest.with_name("file.bin.corrupt").exists()
    server.files["/file.bin"] = GOOD
    assert download.ensure_file("demo", url, dest, sha256=GOOD_SHA) == GOOD_SHA
    assert dest.read_bytes() == GOOD


def test_corrupt_local_file_is_moved_aside_and_downloaded_again(
    tmp_path: Path, server: _Server
) -> None:
    dest = tmp_path / "sub" / "file.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"damaged")
    server.files["/file.bin"] = GOOD
    assert download.ensure_file("demo", server.url + "/file.bin", dest, sha256=GOOD_SHA)
    assert dest.read_bytes() == GOOD
    assert dest.with_name("file.bin.corrupt").read_bytes() == b"damaged"


def test_offline_fails_fast_with_instructions(tmp_path: Path, closed_url: str) -> None:
    dest = tmp_path / "data" / "adbench" / "x.npz"
    start = time.perf_counter()
    with pytest.raises(DatasetError) as err:
        download.ensure_file("adbench-x", closed_url + "/x.npz", dest, sha256=GOOD_SHA)
    assert time.perf_counter() - start < download.TIMEOUT_S  # refused: no timeout waited out
    _assert_clean_offline_error(err, "adbench-x", closed_url + "/x.npz", str(tmp_path / "data"))
    assert GOOD_SHA in str(err.value)
    assert not list(dest.parent.glob("*.part"))


def test_hanging_server_times_out(
    tmp_path: Path, silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    start = time.perf_counter()
    with pytest.raises(DatasetError, match="timed out"):
        download.fetch("demo", silent_url + "/f", tmp_path / "sub" / "f")
    assert time.perf_counter() - start < DEFAULT_TIMEOUT_S  # after its 0.5 s, not the default


# --- ADBench -------------------------------------------------------------------------------

PINNED_IN_MIRROR = [
    e for e in adbench_manifest()[1] if e.sha256 and (SHARED / "adbench" / e.file).is_file()
]
WINE = next(e for e in adbench_manifest()[1] if e.file == "45_wine.npz")
needs_wine = pytest.mark.skipif(
    not (SHARED / "adbench" / WINE.file).is_file(), reason="no offline ADBench mirror"
)


@pytest.mark.skipif(not PINNED_IN_MIRROR, reason="no offline ADBench mirror")
def test_mirror_files_match_manifest_hashes() -> None:
    for entry in PINNED_IN_MIRROR:
        assert download.sha256_file(SHARED / "adbench" / entry.file) == entry.sha256, entry.file


@needs_wine
def test_adbench_rejects_corrupted_copy_then_redownloads(tmp_path: Path, closed_url: str) -> None:
    dest = tmp_path / "adbench" / WINE.file
    dest.parent.mkdir()
    data = bytearray((SHARED / "adbench" / WINE.file).read_bytes())
    data[len(data) // 2] ^= 0xFF
    dest.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"adbench-wine: .*sha256 .*expected") as err:
        load_adbench(WINE, tmp_path, 0, 0, url_template=closed_url + "/{file}")
    assert "Re-downloading failed" in str(err.value)
    assert not dest.exists() and dest.with_name(WINE.file + ".corrupt").exists()
    mirror = (SHARED / "adbench").as_uri() + "/{file}"
    split = validate_split(load_adbench(WINE, tmp_path, 0, 0, url_template=mirror))
    assert split.provenance.sha256 == {WINE.file: WINE.sha256}
    assert dest.read_bytes() == (SHARED / "adbench" / WINE.file).read_bytes()


@needs_wine
def test_adbench_downloads_over_http(tmp_path: Path, server: _Server) -> None:
    server.files["/pinned/" + WINE.file] = (SHARED / "adbench" / WINE.file).read_bytes()
    split = load_adbench(WINE, tmp_path, 0, 2, url_template=server.url + "/pinned/{file}")
    assert split.provenance.source == server.url + "/pinned/" + WINE.file
    assert (tmp_path / "adbench" / WINE.file).is_file()


def test_adbench_offline_names_dataset_url_and_dir(tmp_path: Path, closed_url: str) -> None:
    entry = next(e for e in adbench_manifest()[1] if e.name == "adbench-cardio")
    with pytest.raises(DatasetError) as err:
        load_adbench(entry, tmp_path, 0, 0, url_template=closed_url + "/{file}")
    _assert_clean_offline_error(
        err, "adbench-cardio", f"{closed_url}/6_cardio.npz", str(tmp_path / "adbench" / entry.file)
    )


# --- banknote ------------------------------------------------------------------------------

BANKNOTE = SHARED / "uci" / BANKNOTE_FILE


@pytest.mark.skipif(not BANKNOTE.is_file(), reason="no offline UCI mirror")
def test_banknote_content_check(tmp_path: Path, closed_url: str) -> None:
    dest = tmp_path / "uci" / BANKNOTE_FILE
    dest.parent.mkdir()
    dest.write_text("\n".join(BANKNOTE.read_text().splitlines()[:1000]))
    with pytest.raises(DatasetError, match=r"banknote: .*\(1000, 5\).*expected \(1372, 5\)"):
        load_banknote(tmp_path, 0, 0, url=closed_url + "/b.txt")
    assert dest.with_name(BANKNOTE_FILE + ".corrupt").exists()
    split = load_banknote(tmp_path, 0, 0, url=BANKNOTE.as_uri())
    assert split.provenance.sha256[BANKNOTE_FILE] == download.sha256_file(BANKNOTE)


def test_banknote_offline(tmp_path: Path, closed_url: str) -> None:
    with pytest.raises(DatasetError) as err:
        load_banknote(tmp_path, 0, 0, url=closed_url + "/" + BANKNOTE_FILE)
    _assert_clean_offline_error(err, "banknote", closed_url, str(tmp_path / "uci" / BANKNOTE_FILE))


# --- torchvision's own download, served locally --------------------------------------------


def _idx_gz(array: np.ndarray) -> bytes:
    magic = {1: 0x0801, 3: 0x0803}[array.ndim]
    header = magic.to_bytes(4, "big") + b"".join(n.to_bytes(4, "big") for n in array.shape)
    return gzip.compress(header + array.astype(np.uint8).tobytes())


def _mnist_class(base_url: str, files: dict[str, bytes]) -> type[tvd.MNIST]:
    """torchvision's real MNIST pointed at a local mirror: same class name, so same layout."""
    resources = [(name, hashlib.md5(body).hexdigest()) for name, body in files.items()]
    return type("MNIST", (tvd.MNIST,), {"mirrors": [base_url + "/"], "resources": resources})


def _tiny_mnist_files() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    files = {}
    for part, n in (("train", 40), ("t10k", 20)):
        files[f"{part}-images-idx3-ubyte.gz"] = _idx_gz(rng.integers(0, 256, (n, 28, 28)))
        files[f"{part}-labels-idx1-ubyte.gz"] = _idx_gz(np.arange(n) % 10)
    return files


def test_torchvision_download_from_local_mirror(tmp_path: Path, server: _Server) -> None:
    files = _tiny_mnist_files()
    server.files.update({"/mnist/" + k: v for k, v in files.items()})
    source = ImageSource("mnist", _mnist_class(server.url + "/mnist", files))
    split = validate_split(load_image_split(source, tmp_path, 3, 0))
    assert (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").is_file()
    assert split.X_train.shape == (4, 1, 28, 28) and split.X_test.shape == (20, 1, 28, 28)


def test_concurrent_loads_download_once(tmp_path: Path, server: _Server) -> None:
    """Workers starting together on a fresh data directory must not fetch over each other."""
    files = _tiny_mnist_files()
    server.files.update({"/mnist/" + k: v for k, v in files.items()})
    source = ImageSource("mnist", _mnist_class(server.url + "/mnist", files))
    load_image_split(source, tmp_path / "alone", 0, 0)
    one_download = sorted(server.requests)  # torchvision's requests for one full download
    server.requests.clear()
    with ThreadPoolExecutor(3) as pool:
        run = pool.map(lambda k: load_image_split(source, tmp_path / "shared", k, 0), (1, 2, 3))
        assert [s.normal_class for s in run] == [1, 2, 3]
    assert sorted(server.requests) == one_download


def test_torchvision_offline_fails_fast(tmp_path: Path, closed_url: str) -> None:
    source = ImageSource("mnist", _mnist_class(closed_url, _tiny_mnist_files()))
    start = time.perf_counter()
    with pytest.raises(DatasetError) as err:
        load_image_split(source, tmp_path, 0, 0)
    assert time.perf_counter() - start < download.TIMEOUT_S  # refused: no timeout waited out
    _assert_clean_offline_error(err, "mnist", closed_url, str(tmp_path / "MNIST" / "raw"))


def test_torchvision_hanging_mirror_times_out(
    tmp_path: Path, silent_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(download, "TIMEOUT_S", 0.5)
    source = ImageSource("fashion-mnist", _mnist_class(silent_url, _tiny_mnist_files()))
    start = time.perf_counter()
    with pytest.raises(DatasetError, match="fashion-mnist"):
        load_image_split(source, tmp_path, 0, 0)
    assert time.perf_counter() - start < DEFAULT_TIMEOUT_S  # each mirror after 0.5 s
