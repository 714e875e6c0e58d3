"""Object storage over the `minio` SDK.

An upload is checked before anything reaches the bucket: its size against the limit, its real
type from the first bytes (magic numbers, not the name), its SHA-256. A multipart upload the
web framework already spooled (`MULTIPART_SPOOL_BYTES` in memory, then a temporary file) is
checked in place by `inspect_spooled` — no second copy; a plain byte stream is spooled (up to
1 MiB in memory) by `receive`, the size limit enforced as bytes arrive. A rejected upload
stores nothing.

`put` then streams the spooled bytes to S3 in one PUT signed with the SHA-256 already computed:
the bytes are not copied into memory or hashed again (minio's `put_object` would do both), so
memory per upload in flight stays at the spool plus a 16 KiB send buffer. A put that fails
raises `StorageUnavailable` (503, `Retry-After`).

A service that sweeps its unreferenced objects gives its store a `KeyLedger`
(`licheng.kit.object_sweep.ObjectLedger`): every key is then recorded before its bytes go out.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Collection, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import IO, Protocol
from urllib.parse import quote, urlsplit

import filetype
import structlog
import urllib3
from minio import Minio
from minio.credentials.credentials import Credentials
from minio.error import S3Error
from minio.signer import sign_v4_s3
from minio.time import to_amz_date
from minio.time import utcnow as amz_utcnow
from starlette.formparsers import MultiPartParser

from licheng.contracts.schools import is_school_code
from licheng.kit.errors import (
    BadRequest,
    FileTooLarge,
    FileTypeMismatch,
    StorageUnavailable,
    UnsupportedFileType,
)

log = structlog.get_logger("licheng.storage")

SPOOL_IN_MEMORY_BYTES = 1024 * 1024
# What Starlette's multipart parser keeps of each uploaded file in memory before it spills to a
# temporary file (its default is 1 MiB): with many uploads in flight, memory is this times them.
MULTIPART_SPOOL_BYTES = 256 * 1024
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


# MPEG audio frame headers: bit rates (kbit/s, index 1–14) by (MPEG-1?, layer), sample rates.
_MPEG1_RATES = {
    1: (32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448),
    2: (32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384),
    3: (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320),
}
_MPEG2_RATES = {
    1: (32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256),
    2: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
    3: (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160),
}
_SAMPLE_RATES = {3: (44100, 48000, 32000), 2: (22050, 24000, 16000), 0: (11025, 12000, 8000)}


def _mpeg_frame(head: bytes, at: int) -> tuple[tuple[int, int, int], int] | None:
    """(version, layer, sample rate) and the length of a valid MPEG audio frame at `at`."""
    if at + 4 > len(head) or head[at] != 0xFF or head[at + 1] & 0xE0 != 0xE0:
        return None
    version, layer_bits = (head[at + 1] >> 3) & 0b11, (head[at + 1] >> 1) & 0b11
    rate_index, sample_index = head[at + 2] >> 4, (head[at + 2] >> 2) & 0b11
    if version == 1 or layer_bits == 0 or rate_index in (0, 15) or sample_index == 3:
        return None  # reserved or free-format values: not a frame we trust
    layer = 4 - layer_bits
    rates = _MPEG1_RATES if version == 3 else _MPEG2_RATES
    bit_rate = rates[layer][rate_index - 1] * 1000
    sample_rate = _SAMPLE_RATES[version][sample_index]
    padding = (head[at + 2] >> 1) & 1
    if layer == 1:
        length = (12 * bit_rate // sample_rate + padding) * 4
    elif layer == 3 and version != 3:
        length = 72 * bit_rate // sample_rate + padding
    else:
        length = 144 * bit_rate // sample_rate + padding
    return (version, layer, sample_rate), length


def _is_mpeg_audio(head: bytes) -> bool:
    """Two consecutive, consistent MPEG audio frames: any bytes starting 0xFF 0xE0+ are not."""
    first = _mpeg_frame(head, 0)
    if first is None:
        return False
    second = _mpeg_frame(head, first[1])
    return second is not None and second[0] == first[0]


def sniff_kind(head: bytes) -> FileKind | None:
    """The kind the bytes really are, from their magic numbers."""
    if head[:3] == b"ID3" or _is_mpeg_audio(head):
        return FileKind.MP3  # an ID3v2 tag, or two MPEG audio frames in a row
    guess = filetype.guess(head)
    if guess is None or guess.extension == "mp3":
        return None  # filetype's mp3 guess trusts two bytes; we just checked for real frames
    return _DETECTED.get(guess.extension)


_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"|?*]+")


def safe_filename(filename: str, kind: FileKind, *, max_length: int = 120) -> str:
    """A name to show and to download under: the base name only, no control or path characters,
    and the extension of what the bytes really are (`../../x.exe` holding a PDF → `x.pdf`)."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = _UNSAFE_NAME.sub("_", stem).strip(" .") or "file"
    return f"{stem[: max_length - len(kind.value) - 1]}.{kind.value}"


def object_key(*, school_code: str, owner_id: uuid.UUID, record_id: uuid.UUID, sha256: str) -> str:
    """`<school>/<owner-uuid>/<record-uuid>/<sha256>`: nothing personal, nothing user-named."""
    if not is_school_code(school_code) or not _SHA256.fullmatch(sha256):
        raise ValueError("object keys take a school code and a SHA-256 hex digest")
    return f"{school_code}/{owner_id}/{record_id}/{sha256}"


@dataclass(frozen=True)
class ReceivedUpload:
    """An upload that passed the checks, spooled (memory, then disk) and hashed, not yet stored."""

    spool: IO[bytes]
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


def _too_large(limit: int) -> FileTooLarge:
    return FileTooLarge(f"檔案超過大小上限 {limit // MIB} MB", detail={"max_bytes": limit})


def _inspect(file: IO[bytes], policy: UploadPolicy, claimed: FileKind | None) -> ReceivedUpload:
    """Check a spooled file in place (empty, type, size) and hash it, leaving it at its start."""
    size = file.seek(0, os.SEEK_END)
    if size == 0:
        raise BadRequest("檔案是空的", code="file_empty")
    file.seek(0)
    kind = _check_kind(file.read(SNIFF_BYTES), policy=policy, claimed=claimed)
    if size > policy.max_bytes[kind]:
        raise _too_large(policy.max_bytes[kind])
    file.seek(0)
    sha256 = hashlib.file_digest(file, "sha256").hexdigest()  # type: ignore[arg-type]
    file.seek(0)
    return ReceivedUpload(spool=file, size=size, sha256=sha256, kind=kind)


def keep_multipart_spools_small() -> None:
    """Have the multipart parser spill each uploaded file to disk past `MULTIPART_SPOOL_BYTES`
    (a process-wide class setting of Starlette's; every service sets the same value)."""
    MultiPartParser.spool_max_size = MULTIPART_SPOOL_BYTES


async def inspect_spooled(
    file: IO[bytes], *, policy: UploadPolicy, claimed: FileKind | None = None
) -> ReceivedUpload:
    """Check and hash an upload already spooled by the web framework (a multipart `UploadFile`'s
    `.file`), without copying it; raise (storing nothing) when it breaks the policy.

    The caller keeps owning the file (Starlette closes an `UploadFile` after the response)."""
    return await asyncio.to_thread(_inspect, file, policy, claimed)


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


class KeyLedger(Protocol):
    """Where a service notes each key it is about to put (so its sweeper knows what it owns)."""

    async def record(self, *, bucket: str, key: str) -> None: ...


class ObjectStorage:
    """An S3 bucket store; blocking SDK calls run in worker threads."""

    ledger: KeyLedger | None = None  # set by a service that sweeps its unreferenced objects

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
        self._http = http
        self._base = f"{'https' if secure else 'http'}://{endpoint}"
        self._region = region
        self._credentials = Credentials(access_key, secret_key)

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
        """Store a received upload under its content-addressed key; `StorageUnavailable` (503)
        when the store does not take it. Hold no database connection while this runs."""
        key = key_for(upload.sha256)
        if self.ledger is not None:
            await self.ledger.record(bucket=bucket, key=key)
        try:
            await asyncio.to_thread(self._put_spooled, upload, bucket, key)
        except (urllib3.exceptions.HTTPError, OSError, _PutRefused) as exc:
            log.warning("storage.put_failed", bucket=bucket, key=key, error=str(exc)[:200])
            raise StorageUnavailable() from exc
        return StoredObject(
            bucket=bucket, key=key, size=upload.size, sha256=upload.sha256, kind=upload.kind
        )

    def _put_spooled(self, upload: ReceivedUpload, bucket: str, key: str) -> None:
        """One PUT streamed from the spool (16 KiB at a time), signed with the known SHA-256."""
        url = urlsplit(f"{self._base}/{bucket}/{quote(key, safe='/')}")
        date = amz_utcnow()
        headers = sign_v4_s3(
            method="PUT",
            url=url,
            region=self._region,
            headers={
                "Host": url.netloc,
                "Content-Length": str(upload.size),
                "Content-Type": upload.kind.content_type,
                "x-amz-content-sha256": upload.sha256,
                "x-amz-date": to_amz_date(date),
                "x-amz-meta-sha256": upload.sha256,
            },
            credentials=self._credentials,
            content_sha256=upload.sha256,
            date=date,
        )
        upload.spool.seek(0)
        response = self._http.urlopen(
            "PUT", url.geturl(), body=upload.spool, headers=headers, redirect=False
        )
        if response.status != 200:
            raise _PutRefused(f"S3 answered {response.status}: {response.data[:200]!r}")

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

    async def put_file(self, *, bucket: str, key: str, path: Path, content_type: str) -> None:
        """Store a file from local disk (streamed in parts; for generated packages)."""
        if self.ledger is not None:
            await self.ledger.record(bucket=bucket, key=key)
        await asyncio.to_thread(
            self.client.fput_object, bucket, key, str(path), content_type=content_type
        )

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


class _PutRefused(Exception):
    """The store answered a PUT with something other than 200."""


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
