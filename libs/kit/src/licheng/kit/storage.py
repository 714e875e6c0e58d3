"""Object storage over the `minio` SDK.

Uploads arrive as a stream. `put_stream` enforces the size limit while reading, checks the real
type from the first bytes (magic numbers, not the name), hashes as it goes, and spools to a
temporary file that spills to disk past 1 MiB, so memory stays flat. Only when every check
passes does anything reach the bucket: a rejected upload stores nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from tempfile import SpooledTemporaryFile
from typing import BinaryIO, cast

import filetype
import urllib3
from minio import Minio
from minio.error import S3Error

from licheng.contracts.schools import is_school_code
from licheng.kit.errors import BadRequest, FileTooLarge, FileTypeMismatch, UnsupportedFileType

SPOOL_IN_MEMORY_BYTES = 1024 * 1024
SNIFF_BYTES = 8192
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class FileKind(StrEnum):
    """File types Licheng accepts, named by their usual extension."""

    PDF = "pdf"
    JPG = "jpg"
    PNG = "png"
    MP3 = "mp3"
    MP4 = "mp4"

    @property
    def content_type(self) -> str:
        """The MIME type stored with the object."""
        return _CONTENT_TYPES[self]

    @classmethod
    def from_filename(cls, filename: str) -> FileKind | None:
        """The kind a file name claims by its extension, if it is one we know."""
        suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return _EXTENSIONS.get(suffix)


_CONTENT_TYPES = {
    FileKind.PDF: "application/pdf",
    FileKind.JPG: "image/jpeg",
    FileKind.PNG: "image/png",
    FileKind.MP3: "audio/mpeg",
    FileKind.MP4: "video/mp4",
}
_EXTENSIONS = {
    "pdf": FileKind.PDF,
    "jpg": FileKind.JPG,
    "jpeg": FileKind.JPG,
    "png": FileKind.PNG,
    "mp3": FileKind.MP3,
    "mp4": FileKind.MP4,
}
# What `filetype` answers for each kind (mp4 containers come with several brands).
_DETECTED = {
    "pdf": FileKind.PDF,
    "jpg": FileKind.JPG,
    "png": FileKind.PNG,
    "mp3": FileKind.MP3,
    "mp4": FileKind.MP4,
    "m4v": FileKind.MP4,
}


def sniff_kind(head: bytes) -> FileKind | None:
    """The kind the bytes really are, from their magic numbers."""
    guess = filetype.guess(head)
    if guess is not None:
        return _DETECTED.get(guess.extension)
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return FileKind.MP3  # MPEG audio frame sync or an ID3v2 tag
    return None


def object_key(*, school_code: str, owner_id: uuid.UUID, record_id: uuid.UUID, sha256: str) -> str:
    """`<school>/<owner-uuid>/<record-uuid>/<sha256>`: nothing personal, nothing user-named."""
    if not is_school_code(school_code) or not _SHA256.fullmatch(sha256):
        raise ValueError("object keys take a school code and a SHA-256 hex digest")
    return f"{school_code}/{owner_id}/{record_id}/{sha256}"


@dataclass(frozen=True)
class ReceivedUpload:
    """An upload that passed the checks, spooled (memory, then disk) and hashed, not yet stored."""

    spool: SpooledTemporaryFile[bytes]
    size: int
    sha256: str
    kind: FileKind


@dataclass(frozen=True)
class StoredObject:
    """What was stored: where, how big, which kind, and its SHA-256."""

    bucket: str
    key: str
    size: int
    sha256: str
    kind: FileKind

    @property
    def content_type(self) -> str:
        """The MIME type of the stored bytes."""
        return self.kind.content_type


@dataclass(frozen=True)
class UploadPolicy:
    """Which kinds may be uploaded and how big each may be, in bytes."""

    max_bytes: dict[FileKind, int]

    @property
    def allowed(self) -> Collection[FileKind]:
        """The kinds this policy accepts."""
        return self.max_bytes.keys()

    @property
    def largest(self) -> int:
        """The most bytes any accepted kind may have."""
        return max(self.max_bytes.values())


MIB = 1024 * 1024


async def _spool(
    chunks: AsyncIterator[bytes], *, policy: UploadPolicy, claimed: FileKind | None
) -> tuple[SpooledTemporaryFile[bytes], int, str, FileKind]:
    """Read the stream into a spooled file, checking size and type as bytes arrive."""
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    head = b""
    kind: FileKind | None = None
    limit = policy.max_bytes.get(claimed, policy.largest) if claimed else policy.largest
    try:
        async for chunk in chunks:
            if not chunk:
                continue
            size += len(chunk)
            if kind is None and len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
                if len(head) >= SNIFF_BYTES:
                    kind = _check_kind(head, policy=policy, claimed=claimed)
                    limit = policy.max_bytes[kind]
            if size > limit:
                raise FileTooLarge(
                    f"檔案超過大小上限 {limit // MIB} MB", detail={"max_bytes": limit}
                )
            digest.update(chunk)
            spool.write(chunk)
        if size == 0:
            raise BadRequest("檔案是空的", code="file_empty")
        if kind is None:
            kind = _check_kind(head, policy=policy, claimed=claimed)
            if size > policy.max_bytes[kind]:
                limit = policy.max_bytes[kind]
                raise FileTooLarge(
                    f"檔案超過大小上限 {limit // MIB} MB", detail={"max_bytes": limit}
                )
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, size, digest.hexdigest(), kind


def _check_kind(head: bytes, *, policy: UploadPolicy, claimed: FileKind | None) -> FileKind:
    actual = sniff_kind(head)
    allowed = sorted(k.value for k in policy.allowed)
    if claimed is not None and actual != claimed:
        raise FileTypeMismatch(
            f"檔案內容與副檔名 .{claimed.value} 不符",
            detail={"claimed": claimed.value, "actual": actual.value if actual else None},
        )
    if actual is None or actual not in policy.allowed:
        raise UnsupportedFileType(f"只接受 {', '.join(allowed)} 檔案", detail={"allowed": allowed})
    return actual


class ObjectStorage:
    """An S3 bucket store; blocking SDK calls run in worker threads."""

    def __init__(
        self,
        *,
        endpoint: str,
        access_key: str,
        secret_key: str,
        secure: bool = False,
        region: str = "us-east-1",
    ) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3.0, read=30.0),
            maxsize=20,
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
        )
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )

    async def ensure_buckets(self, names: Iterable[str]) -> None:
        """Create the buckets that do not exist yet."""
        for name in names:
            if not await asyncio.to_thread(self.client.bucket_exists, name):
                try:
                    await asyncio.to_thread(self.client.make_bucket, name)
                except S3Error as exc:  # another replica made it first
                    if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise

    async def ping(self, bucket: str) -> None:
        """Raise unless the store answers for `bucket`."""
        if not await asyncio.to_thread(self.client.bucket_exists, bucket):
            raise RuntimeError(f"bucket {bucket} is missing")

    @asynccontextmanager
    async def receive(
        self,
        chunks: AsyncIterator[bytes],
        *,
        policy: UploadPolicy,
        claimed: FileKind | None = None,
    ) -> AsyncIterator[ReceivedUpload]:
        """Spool and check a stream (size, type by content, SHA-256) without storing it.

        The caller decides with the hash in hand, then `put`s it or lets it go: a refused
        upload never reaches the bucket, so no orphan object is ever left behind.
        """
        spool, size, sha256, kind = await _spool(chunks, policy=policy, claimed=claimed)
        try:
            yield ReceivedUpload(spool=spool, size=size, sha256=sha256, kind=kind)
        finally:
            spool.close()

    async def put(self, upload: ReceivedUpload, *, bucket: str, key_for: KeyFor) -> StoredObject:
        """Store a received upload under its content-addressed key."""
        key = key_for(upload.sha256)
        upload.spool.seek(0)
        await asyncio.to_thread(
            self.client.put_object,
            bucket,
            key,
            cast(BinaryIO, upload.spool),
            length=upload.size,
            content_type=upload.kind.content_type,
            metadata={"sha256": upload.sha256},
        )
        return StoredObject(
            bucket=bucket, key=key, size=upload.size, sha256=upload.sha256, kind=upload.kind
        )

    async def put_stream(
        self,
        *,
        bucket: str,
        chunks: AsyncIterator[bytes],
        policy: UploadPolicy,
        key_for: KeyFor,
        claimed: FileKind | None = None,
    ) -> StoredObject:
        """Check and store a stream; raise (storing nothing) when it breaks the policy."""
        async with self.receive(chunks, policy=policy, claimed=claimed) as upload:
            return await self.put(upload, bucket=bucket, key_for=key_for)

    async def presigned_get(
        self, *, bucket: str, key: str, expires: timedelta = timedelta(minutes=5)
    ) -> str:
        """A short-lived download URL."""
        return await asyncio.to_thread(
            self.client.presigned_get_object, bucket, key, expires=expires
        )

    async def exists(self, *, bucket: str, key: str) -> bool:
        """True when the object is there."""
        try:
            await asyncio.to_thread(self.client.stat_object, bucket, key)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                return False
            raise
        return True

    async def read(self, *, bucket: str, key: str) -> bytes:
        """An object's bytes (for small objects and tests; stream large ones)."""

        def _read() -> bytes:
            response = self.client.get_object(bucket, key)
            try:
                return response.read()
            finally:
                response.close()
                response.release_conn()

        return await asyncio.to_thread(_read)

    async def remove(self, *, bucket: str, key: str) -> None:
        """Delete an object; deleting a missing one is fine."""
        await asyncio.to_thread(self.client.remove_object, bucket, key)


class KeyFor:
    """Builds the object key once the upload's SHA-256 is known."""

    def __init__(self, *, school_code: str, owner_id: uuid.UUID, record_id: uuid.UUID) -> None:
        self.school_code = school_code
        self.owner_id = owner_id
        self.record_id = record_id

    def __call__(self, sha256: str) -> str:
        return object_key(
            school_code=self.school_code,
            owner_id=self.owner_id,
            record_id=self.record_id,
            sha256=sha256,
        )


async def iter_bytes(data: bytes, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    """Turn bytes into a chunked stream (for small in-memory uploads and tests)."""
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]
