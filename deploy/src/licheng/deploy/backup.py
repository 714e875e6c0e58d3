"""Backup and restore of the embedded run: `licheng-stack backup [--to DIR]` and `restore DIR`.

A backup is a folder:

    manifest.json              what is in it: every file with its size and SHA-256, each
                               database's Alembic revision, every object's bucket, key and
                               content type, the time it was taken
    manifest.json.sha256       the manifest's own SHA-256 (`sha256sum -c` reads it)
    databases/<name>.db        a consistent snapshot of each service's SQLite database
    objects/<sha256>           every object of the buckets, stored once per content
    state/data/dev-issuer-key.pem, state/demo/*.done   the development signing key, demo markers

Consistency. Each database is copied with SQLite's online backup API (never a raw copy of a
WAL database), while the stack may be running. Databases are taken consumers first, in the
reverse of `deploy/stack.toml`'s order (identity, which everyone listens to, last), so a
consumer's snapshot never holds an effect of an event its producer's snapshot lacks. Objects
are copied after every database: keys end in the content's SHA-256 and objects are never
rewritten, so every object a snapshot refers to is already in the bucket when it is listed
(objects written later are harmless extras nothing refers to).

Events. JetStream's store is derived state and is not backed up: the outboxes in the
databases are the source. A restore clears JetStream's store and marks every outbox row kept
(the last 7 days; dead-lettered rows excepted) unpublished, so each service publishes them
again on `up`; consumers skip those they already applied (their inbox tables), and apply the
few their snapshot was taken too early to hold. No effect is applied twice.

Restore refuses, changing nothing (exit code 2), a backup whose manifest does not match its
files (a changed byte, a missing file, a file the manifest does not list) or its own hash, a
database revision this code does not know, and a stack that is running. It then writes the
objects back (removing objects the backup does not have), the databases, the key and the demo
markers, and clears JetStream's store; `./licheng up` then starts on the restored data.
See docs/reliability.md.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from minio import Minio

from licheng.deploy.stack import Stack
from licheng.deploy.supervisor import read_pid, run_infra, say
from licheng.kit.settings import ServiceSettings

FORMAT = "licheng-backup/1"
MANIFEST = "manifest.json"
MANIFEST_HASH = "manifest.json.sha256"
CHUNK = 1024 * 1024
KEY_FILE = "data/dev-issuer-key.pem"
DEMO_FOLDER = "demo"
_SHA256 = re.compile(r"[0-9a-f]{64}")
# Outbox rows the relay gave up on were moved to the dead letters; they are not sent again.
_REPUBLISH = (
    "UPDATE outbox_message SET published_at = NULL WHERE published_at IS NOT NULL "
    "AND (last_error IS NULL OR last_error NOT LIKE 'dead-lettered%')"
)


class BackupRefused(Exception):
    """A backup or restore that must not go on; nothing was changed."""


@dataclass(frozen=True)
class Restored:
    """What a restore wrote back."""

    databases: int
    objects: int
    removed_objects: int
    created_at: str


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def buckets_of(stack: Stack) -> list[str]:
    """The buckets the stack's services use (kit settings, unless stack.toml overrides them)."""
    fields = ServiceSettings.model_fields
    return [
        stack.common.get("UPLOADS_BUCKET", str(fields["uploads_bucket"].default)),
        stack.common.get("EXPORTS_BUCKET", str(fields["exports_bucket"].default)),
    ]


def databases_of(stack: Stack) -> list[str]:
    """The service databases, consumers first: the reverse of stack.toml's order."""
    names: list[str] = []
    for process in reversed(stack.processes):
        if process.database and process.database not in names:
            names.append(process.database)
    return names


def running_parts(stack: Stack) -> list[str]:
    """What of the stack runs now: the runner, its processes, its NATS and SeaweedFS."""
    running = []
    if read_pid(stack.state / "run" / "stack.pid") is not None:
        running.append("the runner")
    for process in stack.processes:
        if read_pid(stack.state / "run" / f"{process.name}.pid") is not None:
            running.append(process.name)
    for component in stack.infra_components:
        if read_pid(stack.state / "infra" / "run" / f"{component}.pid") is not None:
            running.append(component)
    return running


@contextlib.contextmanager
def object_store(stack: Stack) -> Iterator[Minio]:
    """A client of the stack's S3; SeaweedFS is started for the while when it is not running."""
    started = False
    if read_pid(stack.state / "infra" / "run" / "s3.pid") is None:
        say("s3: not running; starting it for the copy")
        run_infra(stack, "up", "s3")
        started = True
    values = stack.placeholders()
    client = Minio(
        stack.common["S3_ENDPOINT"].format(**values),
        access_key=stack.common["S3_ACCESS_KEY"].format(**values),
        secret_key=stack.common["S3_SECRET_KEY"].format(**values),
        secure=False,
    )
    try:
        yield client
    finally:
        if started:
            run_infra(stack, "down", "s3")


# ---------------------------------------------------------------------------------- backup
def snapshot_database(source: Path, target: Path) -> str | None:
    """Copy a live SQLite database with the online backup API; its Alembic revision."""
    if not source.exists():
        raise BackupRefused(f"no database at {source}: has the stack run here (./licheng up)?")
    reader = sqlite3.connect(f"file:{source}?mode=rw", uri=True)
    writer = sqlite3.connect(target)
    try:
        reader.execute("PRAGMA busy_timeout=10000")
        reader.backup(writer)  # one step: a consistent snapshot, writers go on meanwhile
        writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal
        checked = writer.execute("PRAGMA integrity_check").fetchone()
        if checked is None or checked[0] != "ok":
            raise BackupRefused(f"{source.name}: integrity check failed: {checked}")
        return _revision(writer)
    finally:
        writer.close()
        reader.close()


def _revision(connection: sqlite3.Connection) -> str | None:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _copy_objects(client: Minio, buckets: list[str], folder: Path) -> list[dict[str, Any]]:
    """Every object of the buckets into `objects/<sha256>` (each content once)."""
    (folder / "objects").mkdir()
    copied: list[dict[str, Any]] = []
    for bucket in buckets:
        if not client.bucket_exists(bucket):
            continue
        for listed in client.list_objects(bucket, recursive=True):
            key = listed.object_name
            if key is None or listed.is_dir:
                continue
            response = client.get_object(bucket, key)
            spool = folder / "objects" / ".incoming"
            digest = hashlib.sha256()
            try:
                with spool.open("wb") as handle:
                    for chunk in response.stream(CHUNK):
                        digest.update(chunk)
                        handle.write(chunk)
                headers = {name.lower(): value for name, value in response.headers.items()}
            finally:
                response.close()
                response.release_conn()
            sha256 = digest.hexdigest()
            os.replace(spool, folder / "objects" / sha256)
            metadata = {
                name.removeprefix("x-amz-meta-"): value
                for name, value in headers.items()
                if name.startswith("x-amz-meta-")
            }
            copied.append(
                {
                    "bucket": bucket,
                    "key": key,
                    "path": f"objects/{sha256}",
                    "content_type": headers.get("content-type", "application/octet-stream"),
                    "metadata": metadata,
                }
            )
    return copied


def _copy_state_files(stack: Stack, folder: Path) -> list[str]:
    """The development signing key and the demo markers, under `state/`."""
    wanted = [stack.state / KEY_FILE]
    demo = stack.state / DEMO_FOLDER
    if demo.is_dir():
        wanted.extend(sorted(p for p in demo.iterdir() if p.is_file()))
    copied = []
    for source in wanted:
        if not source.is_file():
            continue
        relative = source.relative_to(stack.state).as_posix()
        target = folder / "state" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        copied.append(f"state/{relative}")
    return copied


def _listed_files(folder: Path) -> list[Path]:
    """Every file in the backup folder except the manifest and its hash."""
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() not in (MANIFEST, MANIFEST_HASH)
    )


def write_manifest(folder: Path, manifest: dict[str, Any]) -> str:
    manifest["files"] = [
        {"path": p.relative_to(folder).as_posix(), "size": p.stat().st_size, "sha256": sha256_of(p)}
        for p in _listed_files(folder)
    ]
    body = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode() + b"\n"
    (folder / MANIFEST).write_bytes(body)
    digest = hashlib.sha256(body).hexdigest()
    (folder / MANIFEST_HASH).write_text(f"{digest}  {MANIFEST}\n")
    return digest


def default_target(stack: Stack) -> Path:
    """`<state>/../backups/licheng-<UTC time>` (var/backups/… for var/local)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return stack.state.parent / "backups" / f"licheng-{stamp}"


def backup(stack: Stack, *, to: Path | None = None) -> Path:
    """Snapshot every database, then every object, the key and the demo markers into a folder
    with a manifest; written to `<target>.partial` and renamed when complete."""
    target = (to or default_target(stack)).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupRefused(f"{target} exists and is not an empty folder")
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    (partial / "databases").mkdir(parents=True)
    partial.chmod(0o700)  # personal data and the signing key: for the operator's eyes only
    running = bool(running_parts(stack))
    try:
        databases = []
        for name in databases_of(stack):
            revision = snapshot_database(
                stack.state / "data" / f"{name}.db", partial / "databases" / f"{name}.db"
            )
            databases.append(
                {"name": name, "path": f"databases/{name}.db", "alembic_revision": revision}
            )
            say(f"backup: database {name} (revision {revision})")
        buckets = buckets_of(stack)
        with object_store(stack) as client:
            objects = _copy_objects(client, buckets, partial)
        say(f"backup: {len(objects)} objects from {', '.join(buckets)}")
        state_files = _copy_state_files(stack, partial)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(),
            "source": {"kind": "embedded", "state": str(stack.state), "running": running},
            "databases": databases,
            "buckets": buckets,
            "objects": objects,
            "state_files": state_files,
        }
        digest = write_manifest(partial, manifest)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if target.exists():
        target.rmdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    partial.rename(target)
    say(f"backup: {target} (manifest SHA-256 {digest})")
    return target


# ---------------------------------------------------------------------------------- verify
def _safe_relative(path: object, *, under: str) -> str:
    """A manifest path: relative, inside `under/`, no `..`."""
    if not isinstance(path, str):
        raise BackupRefused(f"manifest: a path is not a string: {path!r}")
    parts = PurePosixPath(path).parts
    if PurePosixPath(path).is_absolute() or ".." in parts or len(parts) < 2 or parts[0] != under:
        raise BackupRefused(f"manifest: unexpected path {path!r}")
    return path


def verify(folder: Path) -> dict[str, Any]:
    """The manifest, once it matches its hash and every file matches it exactly; else refuse."""
    try:
        return _verify(folder)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:  # a malformed manifest
        raise BackupRefused(f"{MANIFEST} is malformed: {type(exc).__name__}: {exc}") from exc


def _verify(folder: Path) -> dict[str, Any]:
    if not folder.is_dir():
        raise BackupRefused(f"{folder} is not a backup folder")
    manifest_file, hash_file = folder / MANIFEST, folder / MANIFEST_HASH
    if not manifest_file.is_file() or not hash_file.is_file():
        raise BackupRefused(f"{folder}: {MANIFEST} or {MANIFEST_HASH} is missing")
    expected = hash_file.read_text().split()[:1]
    if not expected or sha256_of(manifest_file) != expected[0]:
        raise BackupRefused(f"{MANIFEST} does not match {MANIFEST_HASH}: the backup was altered")
    try:
        manifest: dict[str, Any] = json.loads(manifest_file.read_bytes())
    except ValueError as exc:
        raise BackupRefused(f"{MANIFEST} is not JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupRefused(f"unknown backup format {manifest.get('format')!r}")
    if datetime.fromisoformat(manifest["created_at"]).tzinfo is None:
        raise BackupRefused("manifest: created_at has no timezone")
    listed = {}
    for entry in manifest.get("files", []):
        path = str(entry.get("path"))
        listed[path] = entry
    present = {p.relative_to(folder).as_posix(): p for p in _listed_files(folder)}
    if missing := sorted(set(listed) - set(present)):
        raise BackupRefused(f"missing from the backup: {', '.join(missing[:5])}")
    if extra := sorted(set(present) - set(listed)):
        raise BackupRefused(f"not in the manifest: {', '.join(extra[:5])}")
    for path, entry in listed.items():
        file = present[path]
        if file.stat().st_size != entry.get("size") or sha256_of(file) != entry.get("sha256"):
            raise BackupRefused(f"{path} does not match its SHA-256 in the manifest")
    referenced = []
    for database in manifest["databases"]:
        referenced.append(_safe_relative(database["path"], under="databases"))
        if not re.fullmatch(r"[a-z_]+", str(database["name"])):
            raise BackupRefused(f"manifest: unexpected database {database['name']!r}")
    buckets = manifest["buckets"]
    if not all(isinstance(b, str) and b for b in buckets):
        raise BackupRefused(f"manifest: unexpected buckets {buckets!r}")
    for item in manifest["objects"]:
        path = _safe_relative(item.get("path"), under="objects")
        if (
            not _SHA256.fullmatch(PurePosixPath(path).name)
            or not isinstance(item.get("key"), str)
            or not item["key"]
            or item.get("bucket") not in buckets
        ):
            raise BackupRefused(f"manifest: unexpected object entry {item!r}")
        if listed.get(path, {}).get("sha256") != PurePosixPath(path).name:
            raise BackupRefused(f"{path} is not named by its SHA-256")
        referenced.append(path)
    for path in manifest["state_files"]:
        relative = _safe_relative(path, under="state").removeprefix("state/")
        if relative != KEY_FILE and PurePosixPath(relative).parent != PurePosixPath(DEMO_FOLDER):
            raise BackupRefused(f"manifest: unexpected state file {path!r}")
        referenced.append(path)
    if unknown := sorted(set(referenced) - set(listed)):
        raise BackupRefused(f"manifest refers to files it does not list: {unknown[:5]}")
    return manifest


def _check_revisions(manifest: dict[str, Any]) -> None:
    """Refuse a database whose Alembic revision this code's migrations do not know."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    for database in manifest["databases"]:
        revision = database.get("alembic_revision")
        spec = importlib.util.find_spec(f"licheng.{database['name']}")
        if revision is None or spec is None or not spec.submodule_search_locations:
            continue
        migrations = Path(next(iter(spec.submodule_search_locations))) / "migrations"
        if not migrations.is_dir():
            continue
        script = ScriptDirectory(str(migrations))
        try:
            known = script.get_revision(revision)
        except CommandError:
            known = None
        if known is None:
            raise BackupRefused(
                f"database {database['name']} is at revision {revision}, which this version "
                "of Licheng does not know (a backup of a newer version?)"
            )


# ---------------------------------------------------------------------------------- restore
def _restore_objects(client: Minio, folder: Path, manifest: dict[str, Any]) -> int:
    """Put every object back (before any database, so each reference finds its object)."""
    for bucket in manifest["buckets"]:
        if not client.bucket_exists(bucket):
            client.make_bucket(bucket)
    for item in manifest["objects"]:
        path = folder / item["path"]
        with path.open("rb") as handle:
            client.put_object(
                item["bucket"],
                item["key"],
                handle,
                length=path.stat().st_size,
                content_type=item.get("content_type") or "application/octet-stream",
                metadata=item.get("metadata") or None,
            )
    return len(manifest["objects"])


def _remove_extra_objects(client: Minio, manifest: dict[str, Any]) -> int:
    """Delete objects the backup does not have (written after it; nothing restored refers to
    them), so the store holds exactly the backup's files."""
    kept = {(item["bucket"], item["key"]) for item in manifest["objects"]}
    removed = 0
    for bucket in manifest["buckets"]:
        for listed in client.list_objects(bucket, recursive=True):
            key = listed.object_name
            if key is None or listed.is_dir or (bucket, key) in kept:
                continue
            client.remove_object(bucket, key)
            removed += 1
    return removed


def _restore_database(source: Path, target: Path) -> None:
    """Replace a database file (and drop its stale -wal/-shm), its outbox marked unsent."""
    incoming = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, incoming)
    connection = sqlite3.connect(incoming)
    try:
        # (a database without an outbox has nothing to send again)
        with connection, contextlib.suppress(sqlite3.OperationalError):
            connection.execute(_REPUBLISH)
    finally:
        connection.close()
    for suffix in ("-wal", "-shm", "-journal"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(incoming, target)


def _restore_state_files(stack: Stack, folder: Path, manifest: dict[str, Any]) -> None:
    demo = stack.state / DEMO_FOLDER
    if demo.is_dir():
        for marker in demo.iterdir():
            if marker.is_file():
                marker.unlink()
    for path in manifest["state_files"]:
        relative = path.removeprefix("state/")
        target = stack.state / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / path, target)
        if relative == KEY_FILE:
            target.chmod(0o600)


def restore(stack: Stack, folder: Path) -> Restored:
    """Verify the backup, then write it back into a stopped stack's state; refuse otherwise."""
    folder = folder.resolve()
    manifest = verify(folder)
    _check_revisions(manifest)
    if running := running_parts(stack):
        raise BackupRefused(
            f"the stack is running ({', '.join(running)}): stop it first (./licheng down)"
        )
    for part in ("run", "data"):
        (stack.state / part).mkdir(parents=True, exist_ok=True)
    # Hold the runner's pid file meanwhile: `up` refuses to start while it is there.
    runner_pid = stack.state / "run" / "stack.pid"
    runner_pid.write_text(str(os.getpid()))
    try:
        with object_store(stack) as client:
            objects = _restore_objects(client, folder, manifest)
            for database in manifest["databases"]:
                _restore_database(
                    folder / database["path"], stack.state / "data" / f"{database['name']}.db"
                )
                say(f"restore: database {database['name']}")
            _restore_state_files(stack, folder, manifest)
            # JetStream is derived from the outboxes, whose rows were just marked unsent.
            shutil.rmtree(stack.state / "infra" / "nats", ignore_errors=True)
            removed = _remove_extra_objects(client, manifest)
    finally:
        runner_pid.unlink(missing_ok=True)
    restored = Restored(
        databases=len(manifest["databases"]),
        objects=objects,
        removed_objects=removed,
        created_at=str(manifest["created_at"]),
    )
    say(
        f"restore: {restored.databases} databases and {objects} objects from the backup of "
        f"{restored.created_at} ({removed} objects not in it removed); start with ./licheng up"
    )
    return restored
