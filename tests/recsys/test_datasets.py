"""Fetching datasets: mirror, official address (a loopback server here), checksums."""

from __future__ import annotations

import hashlib
import http.server
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from recsys.datasets import Dataset, fetch, get_dataset, sha256_file
from recsys.errors import ChecksumError, DatasetError, UnknownNameError
from recsys.settings import Settings

A, B = b"id,title\n1,One\n", b"user,item\n1,1\n"


def _ds(url: str | None = None) -> Dataset:
    return Dataset(name="toy", title="Toy", mirror_path="toy/v1", url=url, zip_dir="toy-v1",
                   files={"items.csv": hashlib.sha256(A).hexdigest(),
                          "events.csv": hashlib.sha256(B).hexdigest()})


def _mirror(root: Path, items: bytes = A) -> Path:
    d = root / "toy" / "v1"
    d.mkdir(parents=True)
    (d / "items.csv").write_bytes(items)
    (d / "events.csv").write_bytes(B)
    return root


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback serving a zip of the toy dataset."""
    www = tmp_path / "www"
    www.mkdir()
    with zipfile.ZipFile(www / "toy.zip", "w") as zf:
        zf.writestr("toy-v1/items.csv", A)
        zf.writestr("toy-v1/events.csv", B)
    handler = lambda *a: http.server.SimpleHTTPRequestHandler(*a, directory=str(www))  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_from_mirror_verifies_and_caches(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", mirror=_mirror(tmp_path / "m"))
    path = fetch(_ds(), s)
    assert (path / "items.csv").read_bytes() == A
    (tmp_path / "m" / "toy" / "v1" / "items.csv").unlink()  # cached copy is enough now
    assert fetch(_ds(), s) == path


def test_mirror_with_wrong_bytes_is_refused(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", mirror=_mirror(tmp_path / "m", items=b"tampered\n"))
    with pytest.raises(ChecksumError, match="items.csv from mirror .* corrupt or a different"):
        fetch(_ds(), s)
    assert not (tmp_path / "d" / "datasets" / "toy").exists()  # nothing half-written


def test_download_from_official_address(tmp_path: Path, server: str) -> None:
    s = Settings(data_dir=tmp_path / "d", mirror=None)
    path = fetch(_ds(f"{server}/toy.zip"), s)
    assert sha256_file(path / "events.csv") == hashlib.sha256(B).hexdigest()


def test_neither_mirror_nor_address_says_what_to_do(tmp_path: Path, server: str) -> None:
    s = Settings(data_dir=tmp_path / "d", mirror=tmp_path / "empty", download_timeout_s=5)
    with pytest.raises(DatasetError) as e:
        fetch(_ds(f"{server}/missing.zip"), s)
    msg = str(e.value)
    assert "the mirror has no toy/v1/" in msg and "404" in msg
    assert "Set TASTEBUD_MIRROR to a directory that contains toy/v1/" in msg


def test_unknown_dataset_lists_known() -> None:
    with pytest.raises(UnknownNameError,
                       match="valid: bokeh-movies, cfcrs-movies, lastfm-2k, lastfm-star, mov"):
        get_dataset("netflix")


@pytest.mark.dataset
def test_known_datasets_match_the_mirror(mirror: Path, tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "d", mirror=mirror)
    for name in ("movielens-small", "lastfm-star"):
        path = fetch(name, s)
        assert all((path / f).is_file() for f in get_dataset(name).files)
