"""`djcheck server` for a client that does not report changes to files (no dynamic
registration of file watchers): an edit is re-checked from the last check only when
what that check read from disk is unchanged, so files written outside the editor are
still seen at the next edit."""

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
    PROJECT,
    change_doc,
    diagnostics_for,
    init_params,
    open_doc,
)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    params = init_params({"run": "onChange", "debounceMs": 0})
    params.capabilities.workspace.did_change_watched_files = (
        types.DidChangeWatchedFilesClientCapabilities(dynamic_registration=False)
    )
    await lsp_client.initialize_session(params)
    yield
    await lsp_client.shutdown_session()


class ServerLog:
    """What the server wrote to its standard error so far (its log)."""

    def __init__(self, capfd):
        self.capfd = capfd
        self.text = ""

    async def count(self, what: str, at_least: int, timeout: float = 10.0) -> int:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            self.text += self.capfd.readouterr().err
            n = self.text.count(what)
            if n >= at_least or loop.time() > deadline:
                return n
            await asyncio.sleep(0.02)


RECHECK = "re-read 1 changed migration(s)"


@pytest.mark.asyncio
async def test_files_written_outside_the_editor_are_seen_at_the_next_edit(
    client: LanguageClient, capfd
):
    log = ServerLog(capfd)
    uri = MIGRATION.as_uri()
    open_doc(client, CLEAN)
    assert await diagnostics_for(client, uri) == []
    # An edit with nothing else changed: taken over from the last check.
    change_doc(client, CONCURRENT, 2)
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["SQL008", "SQL008"], diags
    assert await log.count(RECHECK, 1) == 1, log.text

    codes = lambda diags: sorted(d.code for d in diags)  # noqa: E731
    other = PROJECT / "blog" / "migrations" / "0002_other.py"
    try:
        # A second leaf numbered 0002, written by another branch; the server is not told.
        other.write_text(CLEAN.replace("blog_post_title", "blog_post_other"))
        change_doc(client, CLEAN, 3)
        assert codes(await diagnostics_for(client, other.as_uri())) == ["MIG002"]
        assert codes(await diagnostics_for(client, uri)) == ["MIG008"]
        # Read whole: no re-check.
        assert await log.count(RECHECK, 2, timeout=1.0) == 1, log.text
        # An edit with nothing else changed is a re-check again, and keeps both.
        change_doc(client, CONCURRENT, 4)
        assert codes(await diagnostics_for(client, uri)) == ["MIG008", "SQL008", "SQL008"]
        assert await log.count(RECHECK, 2) == 2, log.text
        # Rewritten on disk to follow the open migration: one leaf again (and two
        # migrations numbered 0002 one after the other are no conflict).
        other.write_text(
            CLEAN.replace("blog_post_title", "blog_post_other").replace(
                '("blog", "0001_initial")', '("blog", "0002_title_index")'
            )
        )
        change_doc(client, CLEAN, 5)
        assert await diagnostics_for(client, other.as_uri()) == []
        assert await diagnostics_for(client, uri) == []
        # Removed: nothing left.
        other.unlink()
        change_doc(client, CONCURRENT, 6)
        assert codes(await diagnostics_for(client, uri)) == ["SQL008", "SQL008"]
        change_doc(client, CLEAN, 7)
        assert await diagnostics_for(client, uri) == []
        # Two whole checks (a file changed, a file removed), then a re-check.
        assert await log.count(RECHECK, 3) == 3, log.text
    finally:
        other.unlink(missing_ok=True)
