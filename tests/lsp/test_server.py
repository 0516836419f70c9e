"""`djcheck server` driven by a real LSP client: pytest-lsp (pygls's client).

Run by crates/cli/tests/server.rs with DJCHECK_BIN set to the binary under test. Each
test copies tests/lsp/project (a small Django project) to a fresh folder, opens it as the
workspace folder, and edits a migration the way an editor would.
"""

import asyncio
import atexit
import os
import pathlib
import shutil
import sys
import tempfile

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import default_converter
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features

DJCHECK = os.environ["DJCHECK_BIN"]
HERE = pathlib.Path(__file__).parent

# A non-atomic migration building an index concurrently, re-runnably: nothing to report.
CLEAN = '''\
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("blog", "0001_initial"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS blog_post_title ON blog_post (title)",
            reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS blog_post_title",
        ),
    ]
'''

# The same migration left atomic: PostgreSQL refuses to build an index concurrently in
# the transaction Django opens for it (SQL008).
CONCURRENT = CLEAN.replace("    atomic = False\n\n", "")
assert CONCURRENT != CLEAN
FIXED = CLEAN


def new_project() -> pathlib.Path:
    root = pathlib.Path(tempfile.mkdtemp(prefix="djcheck-lsp-"))
    # Removed when the test session ends, pass or fail.
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    shutil.copytree(HERE / "project", root, dirs_exist_ok=True)
    return root.resolve()


PROJECT = new_project()
MIGRATION = PROJECT / "blog" / "migrations" / "0002_title_index.py"
# On disk before any server starts: the server checks the workspace folder at once.
MIGRATION.write_text(CLEAN)


def apply_edits(text: str, edits) -> str:
    """Applies LSP text edits (positions in UTF-16 code units) to a text."""
    lines = text.splitlines(keepends=True)

    def offset(pos):
        before = "".join(lines[: pos.line])
        line = lines[pos.line] if pos.line < len(lines) else ""
        units, i = 0, 0
        while i < len(line) and units < pos.character:
            units += 2 if ord(line[i]) > 0xFFFF else 1
            i += 1
        return len(before) + i

    for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        a, b = offset(e.range.start), offset(e.range.end)
        text = text[:a] + e.new_text + text[b:]
        lines = text.splitlines(keepends=True)
    return text


# Every publishDiagnostics received, in order, and how far each URI has been read.
PUBLISHED = []
CURSOR = {}
REGISTRATIONS = []


def make_client() -> LanguageClient:
    """pytest-lsp's test client, recording every publication (its own keeps only the
    last per URI) and accepting the server's dynamic registration of file watchers."""
    client = LanguageClient(converter_factory=default_converter)
    features = dict(DEFAULT_CLIENT_FEATURES)

    def publish(client: LanguageClient, params: types.PublishDiagnosticsParams):
        client.diagnostics[params.uri] = params.diagnostics
        PUBLISHED.append((params.uri, list(params.diagnostics)))

    def register(client: LanguageClient, params: types.RegistrationParams):
        REGISTRATIONS.extend(params.registrations)
        return None

    features[types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS] = publish
    features[types.CLIENT_REGISTER_CAPABILITY] = register
    register_lsp_features(client, features)
    return client


async def diagnostics_for(client: LanguageClient, uri: str, timeout: float = 20.0):
    """Waits for diagnostics published for `uri` since the last call; returns the last."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        start = CURSOR.get(uri, BASE[0])
        new = [(i, d) for i, (u, d) in enumerate(PUBLISHED[start:], start) if u == uri]
        if new:
            CURSOR[uri] = new[-1][0] + 1
            return new[-1][1]
        if loop.time() > deadline:
            raise TimeoutError(f"no diagnostics for {uri}")
        await asyncio.sleep(0.02)


BASE = [0]


def seen_all():
    """Marks everything published so far as read: call before what should publish."""
    BASE[0] = len(PUBLISHED)
    CURSOR.clear()


def watched(client: LanguageClient, path: pathlib.Path, kind: types.FileChangeType):
    seen_all()
    client.workspace_did_change_watched_files(
        types.DidChangeWatchedFilesParams(changes=[types.FileEvent(uri=path.as_uri(), type=kind)])
    )


def init_params(options=None) -> types.InitializeParams:
    return types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"),
        workspace_folders=[types.WorkspaceFolder(uri=PROJECT.as_uri(), name="project")],
        initialization_options=options,
    )


CONFIG = ClientServerConfig(server_command=[DJCHECK, "server"], client_factory=make_client)


@pytest_lsp.fixture(config=CONFIG)
async def client(lsp_client: LanguageClient):
    await lsp_client.initialize_session(init_params({"run": "onChange", "debounceMs": 50}))
    yield
    await lsp_client.shutdown_session()


def open_doc(client: LanguageClient, text: str, version: int = 1):
    seen_all()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(
                uri=MIGRATION.as_uri(), language_id="python", version=version, text=text
            )
        )
    )


def change_doc(client: LanguageClient, text: str, version: int):
    seen_all()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=MIGRATION.as_uri(), version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.mark.asyncio
async def test_edit_introduce_fix_and_ignore(client: LanguageClient):
    uri = MIGRATION.as_uri()
    open_doc(client, CLEAN)
    assert await diagnostics_for(client, uri) == []

    # The edit introduces the problem: one error, with its code, link and context.
    change_doc(client, CONCURRENT, 2)
    diags = await diagnostics_for(client, uri)
    assert [d.code for d in diags] == ["SQL008", "SQL008"], diags  # sql and reverse_sql
    d = diags[0]
    assert d.severity == types.DiagnosticSeverity.Error
    assert d.source == "djcheck"
    assert d.code_description.href.endswith("docs/rules.md#sql008")
    assert "in an atomic migration" in d.message
    assert d.range.start.line == 10, d.range
    assert CONCURRENT.splitlines()[10][d.range.start.character :].startswith("CREATE INDEX CONCURRENTLY")
    related = {r.message for r in d.related_information}
    assert "atomic by default" in related, related

    # Hover on it shows the rule's documentation.
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=d.range.start)
    )
    assert hover is not None
    assert "SQL008" in hover.contents.value and "## What it finds" in hover.contents.value

    # Code actions: the fix and the ignore comment.
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=uri),
            range=d.range,
            context=types.CodeActionContext(diagnostics=[d]),
        )
    )
    titles = [a.title for a in actions]
    assert titles == [
        "SQL008: make the migration non-atomic: `atomic = False`",
        "ignore SQL008 on this line",
    ], titles
    fix, ignore = actions
    assert fix.kind == types.CodeActionKind.QuickFix and fix.is_preferred
    fixed = apply_edits(CONCURRENT, fix.edit.changes[uri])
    assert fixed == FIXED, fixed

    # Applying it: the error is gone.
    change_doc(client, fixed, 3)
    assert await diagnostics_for(client, uri) == []

    # Back to the problem, and silenced with the ignore comment instead.
    change_doc(client, CONCURRENT, 4)
    diags = await diagnostics_for(client, uri)
    assert [x.code for x in diags] == ["SQL008", "SQL008"]
    ignored = apply_edits(CONCURRENT, ignore.edit.changes[uri])
    assert "# djcheck: ignore[SQL008] -- TODO: say why" in ignored, ignored
    change_doc(client, ignored, 5)
    # Only that line is silenced: the `reverse_sql` one is still reported.
    diags = await diagnostics_for(client, uri)
    assert [(x.code, x.range.start.line) for x in diags] == [("SQL008", 11)], diags


@pytest.mark.asyncio
async def test_files_changed_outside_the_editor(client: LanguageClient):
    uri = MIGRATION.as_uri()
    open_doc(client, CLEAN)
    assert await diagnostics_for(client, uri) == []
    regs = [r for r in REGISTRATIONS if r.method == "workspace/didChangeWatchedFiles"]
    assert regs, REGISTRATIONS
    globs = [w["globPattern"] for w in regs[0].register_options["watchers"]]
    assert "**/*.py" in globs and "**/pyproject.toml" in globs, globs

    # A second leaf written by another branch, outside the editor: MIG002.
    other = PROJECT / "blog" / "migrations" / "0002_other.py"
    other.write_text(CLEAN.replace("blog_post_title", "blog_post_other"))
    watched(client, other, types.FileChangeType.Created)
    diags = await diagnostics_for(client, other.as_uri())
    assert [x.code for x in diags] == ["MIG002"], diags
    # Its fix creates the merge migration (the client can create files).
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri=other.as_uri()),
            range=diags[0].range,
            context=types.CodeActionContext(diagnostics=diags),
        )
    )
    merge = [a for a in actions if "merge migration" in a.title]
    assert len(merge) == 1, [a.title for a in actions]
    ops = merge[0].edit.document_changes
    assert ops[0].kind == "create"
    assert ops[0].uri.endswith("/blog/migrations/0003_merge_0002_other_0002_title_index.py")

    # The configuration is read again: ignoring MIG002 there silences it.
    config = PROJECT / "djcheck.toml"
    config.write_text('select = ["ALL"]\nignore = ["MIG002"]\n')
    watched(client, config, types.FileChangeType.Changed)
    assert await diagnostics_for(client, other.as_uri()) == []
    config.write_text('select = ["ALL"]\n')
    watched(client, config, types.FileChangeType.Changed)
    diags = await diagnostics_for(client, other.as_uri())
    assert [x.code for x in diags] == ["MIG002"], diags

    # Deleted under the server: nothing left to report, and it keeps serving.
    other.unlink()
    watched(client, other, types.FileChangeType.Deleted)
    assert await diagnostics_for(client, other.as_uri()) == []

    # A syntax error is a diagnostic, not a crash.
    change_doc(client, CLEAN + "\ndef broken(:\n", 2)
    diags = await diagnostics_for(client, uri)
    assert [x.code for x in diags] == ["PARSE001"], diags
    change_doc(client, CLEAN, 3)
    assert await diagnostics_for(client, uri) == []
