"""The pieces of `licheng-stack backup` and `restore` that need no running stack: a database
copied while it is being written is whole, a state the stack never ran in is refused, and so
are a manifest that is not what a backup writes (a path outside it, a naive time, …) and a
database at a revision this code does not know. The whole round trip (a term's work, backup
while running, wipe, restore, the same portfolios; tampered backups refused) runs on the
embedded stack in test_local_stack.py.

SQLite only: the embedded run's backup reads SQLite files (a district uses pg_dump).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from licheng.deploy import backup as backups
from licheng.deploy.stack import load_stack


def test_a_database_copied_while_it_is_written_is_whole(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    writer = sqlite3.connect(live, isolation_level=None, check_same_thread=False)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
    writer.execute("INSERT INTO alembic_version VALUES ('0007')")
    writer.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
    stop = threading.Event()
    committed = threading.Event()

    def transfer() -> None:  # every transaction adds +100 and -100: the sum is always 0
        while not stop.is_set():
            writer.execute("BEGIN IMMEDIATE")
            writer.execute("INSERT INTO ledger (amount) VALUES (100)")
            writer.execute("INSERT INTO ledger (amount) VALUES (-100)")
            writer.execute("COMMIT")
            committed.set()

    thread = threading.Thread(target=transfer)
    thread.start()
    try:
        assert committed.wait(10)
        copies = [tmp_path / f"copy-{n}.db" for n in range(5)]
        revisions = [backups.snapshot_database(live, copy) for copy in copies]
    finally:
        stop.set()
        thread.join(10)
        writer.close()
    assert revisions == ["0007"] * 5
    for copy in copies:
        assert not copy.with_name(copy.name + "-wal").exists()  # one self-contained file
        with sqlite3.connect(copy) as connection:
            assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
            rows, total = connection.execute("SELECT count(*), sum(amount) FROM ledger").fetchone()
        connection.close()
        assert rows > 0
        assert (rows % 2, total) == (0, 0)


def test_a_state_the_stack_never_ran_in_is_refused(tmp_path: Path) -> None:
    state, target = tmp_path / "state", tmp_path / "backup"
    command = [sys.executable, "-m", "licheng.deploy.cli", "backup", "--to", str(target),
               "--state-dir", str(state), "--port-offset", "23000"]  # fmt: skip
    refused = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "backup refused: no database" in refused.stdout
    assert "has the stack run here" in refused.stdout
    assert not target.exists()
    assert not (tmp_path / "backup.partial").exists()
    with pytest.raises(backups.BackupRefused, match="has the stack run here"):
        backups.backup(load_stack(state=state, port_offset=23000), to=target)


_BLOB = "objects/" + "0" * 64
_VALID = {
    "format": backups.FORMAT,
    "created_at": "2026-12-04T02:00:00+00:00",
    "databases": [],
    "buckets": ["licheng-uploads"],
    "objects": [],
    "state_files": [],
    "files": [],
}


@pytest.mark.parametrize(
    ("manifest", "reason"),
    [
        ({**_VALID, "state_files": ["state/../../outside.pem"]}, "unexpected path"),
        ({**_VALID, "databases": [{"name": "identity", "path": "/etc/passwd"}]}, "unexpected path"),
        ({**_VALID, "objects": [{"bucket": "elsewhere", "key": "k", "path": _BLOB}]},
         "unexpected object entry"),
        ({**_VALID, "created_at": "2026-12-04T02:00:00"}, "no timezone"),
        ([_VALID], "malformed"),
    ],
    ids=["a path outside", "an absolute path", "an unlisted bucket", "a naive time", "a list"],
)  # fmt: skip
def test_a_manifest_that_is_not_what_a_backup_writes_is_refused(
    tmp_path: Path, manifest: object, reason: str
) -> None:
    folder = tmp_path / "backup"
    folder.mkdir()
    body = json.dumps(manifest).encode()
    (folder / backups.MANIFEST).write_bytes(body)
    (folder / backups.MANIFEST_HASH).write_text(
        f"{hashlib.sha256(body).hexdigest()}  {backups.MANIFEST}\n"
    )
    with pytest.raises(backups.BackupRefused, match=reason):
        backups.verify(folder)


def test_a_database_at_a_revision_this_code_does_not_know_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "backup"
    (folder / "databases").mkdir(parents=True)
    with sqlite3.connect(folder / "databases" / "identity.db") as database:
        database.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        database.execute("INSERT INTO alembic_version VALUES ('9999_from_a_newer_licheng')")
    database.close()
    manifest = {
        "format": backups.FORMAT,
        "created_at": "2026-12-04T02:00:00+00:00",
        "databases": [{"name": "identity", "path": "databases/identity.db",
                       "alembic_revision": "9999_from_a_newer_licheng"}],
        "buckets": [], "objects": [], "state_files": [],
    }  # fmt: skip
    backups.write_manifest(folder, manifest)
    assert backups.verify(folder)["files"][0]["path"] == "databases/identity.db"
    state = tmp_path / "state"
    with pytest.raises(backups.BackupRefused, match="does not know"):
        backups.restore(load_stack(state=state, port_offset=23000), folder)
    assert not state.exists()
