"""What server tests share besides fixtures: the running server's handle and the CLI as an admin runs it."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cozepy import Coze, DocumentBase, DocumentFormatType, DocumentSourceInfo, SyncHTTPClient, TokenAuth
from typer.testing import CliRunner

from plait.cli import app as cli

MAX_BODY = 64 * 1024  # the test servers' body limit
MAX_UPLOAD = 200 * 1024  # above MAX_BODY: uploads have their own limit


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(slots=True)
class Running:
    base_url: str
    env: dict[str, str]  # PLAIT_* for CLI commands against the same data dir and database
    make_key: Callable[..., str]  # ``plait keys create`` options -> token
    clients: list[SyncHTTPClient] = field(default_factory=list)

    def coze(self, token: str) -> Coze:
        """An SDK client whose connections are closed with the server (no ResourceWarning)."""
        client = SyncHTTPClient()
        self.clients.append(client)
        return Coze(auth=TokenAuth(token), base_url=self.base_url, http_client=client)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def run_cli(env: dict[str, str], *args: str) -> str:
    result = CliRunner().invoke(cli, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result.output


def ingested_dataset(coze: Coze, space_id: str, name: str, text: str) -> str:
    """A text dataset holding ``text`` as one document, once it is searchable."""
    dataset = coze.datasets.create(name=name, space_id=space_id, format_type=DocumentFormatType.DOCUMENT)
    source = DocumentSourceInfo(file_base64=base64.b64encode(text.encode()).decode(), file_type="txt")
    (document,) = coze.datasets.documents.create(
        dataset_id=dataset.dataset_id, document_bases=[DocumentBase(name=f"{name}.txt", source_info=source)]
    )
    deadline = time.monotonic() + 30
    while coze.datasets.process(dataset_id=dataset.dataset_id, document_ids=[document.document_id])[0].status != 1:
        assert time.monotonic() < deadline, "the document was not ingested"
        time.sleep(0.1)
    return dataset.dataset_id
