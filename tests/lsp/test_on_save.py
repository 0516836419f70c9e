"""`djcheck server` with `run = "onSave"`: edits are not checked until the file is saved."""

import asyncio

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import LanguageClient

from test_server import (
    CLEAN,
    CONFIG,
    CONCURRENT,
    MIGRATION,
    change_doc,
    diagnostics_for,
    init_params,
    open_doc,
    seen_all,
)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params({"run": "onSave"}))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_checks_on_save_only(client: LanguageClient):
    uri = MIGRATION.as_uri()
    open_doc(client, CLEAN)
    assert await diagnostics_for(client, uri) == []
    change_doc(client, CONCURRENT, 2)
    with pytest.raises(TimeoutError):
        await diagnostics_for(client, uri, timeout=1.5)
    seen_all()
    client.text_document_did_save(
        types.DidSaveTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
    )
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["SQL008", "SQL008"]  # sql and reverse_sql
