"""The file endpoints as cozepy drives them, on disk and in the store, plus raw bad input."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cozepy import Coze, CozeAPIError, File
from server_harness import MAX_BODY, MAX_UPLOAD, Running


@pytest.fixture
def http(server: Running, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


def _upload(coze: Coze, path: Path) -> File:
    """What ``coze.files.upload(file=path)`` sends, with the handle closed: given a path, cozepy never closes it."""
    with path.open("rb") as handle:
        return coze.files.upload(file=handle)


def _envelope(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert (body["code"], body["data"]) == (code, None), body
    msg: str = body["msg"]
    return msg


def test_upload_and_retrieve(server: Running, coze: Coze, tmp_path: Path) -> None:
    content = b"x" * (MAX_BODY + 1)  # over the JSON body limit: uploads have their own
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    uploaded = _upload(coze, path)
    assert (uploaded.bytes, uploaded.file_name) == (len(content), "notes.txt")
    assert uploaded.created_at and isinstance(uploaded.id, str)
    got = coze.files.retrieve(file_id=uploaded.id)
    assert (got.id, got.bytes, got.file_name, got.created_at) == (
        uploaded.id,
        len(content),
        "notes.txt",
        uploaded.created_at,
    )

    again = tmp_path / "copy.txt"
    again.write_bytes(content)
    second = _upload(coze, again)
    assert second.id != uploaded.id and coze.files.retrieve(file_id=second.id).file_name == "copy.txt"
    blobs = list((Path(server.env["PLAIT_DATA_DIR"]) / "files").glob("*/*"))
    digest = hashlib.sha256(content).hexdigest()
    assert [blob.name for blob in blobs if blob.name == digest] == [digest]  # stored once, no temp files left
    assert all(not blob.name.startswith(".upload-") for blob in blobs)


def test_upload_at_the_limit(coze: Coze, tmp_path: Path) -> None:
    path = tmp_path / "full.bin"
    path.write_bytes(b"\0" * MAX_UPLOAD)
    assert _upload(coze, path).bytes == MAX_UPLOAD


def test_bad_uploads_raw(http: httpx.Client) -> None:
    assert "file" in _envelope(http.post("/v1/files/upload", files={"other": ("a.txt", b"abc")}), 400, 4000)
    assert "multipart" in _envelope(http.post("/v1/files/upload", json={"file": "abc"}), 400, 4000)
    assert "empty" in _envelope(http.post("/v1/files/upload", files={"file": ("a.txt", b"")}), 400, 4000)
    _envelope(http.post("/v1/files/upload", files={"file": ("big.bin", b"a" * (MAX_UPLOAD + 1))}), 413, 4001)

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while the body streams
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n'
        for _ in range(MAX_UPLOAD // 1024 + 1):
            yield b"a" * 1024
        yield b"\r\n--b--\r\n"

    headers = {"content-type": "multipart/form-data; boundary=b"}
    _envelope(http.post("/v1/files/upload", content=chunks(), headers=headers), 413, 4001)
    _envelope(http.get("/v1/files/retrieve", params={"file_id": "1"}), 404, 4200)
    _envelope(http.get("/v1/files/retrieve"), 400, 4000)


def test_files_are_workspace_scoped(server: Running, coze: Coze, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_bytes(b"secret")
    file_id = _upload(coze, path).id
    other = server.coze(server.make_key("--workspace", "Files Elsewhere"))
    with pytest.raises(CozeAPIError) as error:
        other.files.retrieve(file_id=file_id)
    assert error.value.code == 4200
    assert _upload(other, path).id != file_id  # same bytes, another workspace: its own file


def test_viewer_cannot_upload(server: Running, tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"a")
    viewer = server.coze(server.make_key("--user", "vera", "--role", "viewer"))
    with pytest.raises(CozeAPIError) as error:
        _upload(viewer, path)
    assert error.value.code == 4101
