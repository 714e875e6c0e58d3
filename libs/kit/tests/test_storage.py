"""Streaming uploads to the real S3 server: size, type by content, SHA-256, nothing on reject."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from licheng.contracts.files import DEFAULT_FILE_LIMITS
from licheng.kit.errors import (
    BadRequest,
    FileTooLarge,
    FileTypeMismatch,
    StorageUnavailable,
    UnsupportedFileType,
)
from licheng.kit.storage import (
    MIB,
    FileKind,
    KeyFor,
    ObjectStorage,
    UploadPolicy,
    inspect_spooled,
    iter_bytes,
    object_key,
    safe_filename,
    sniff_kind,
)
from licheng.testing.infra import TestInfra
from licheng.testing.servers import free_port

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(200)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n" + bytes(500)
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)

# The central database's default limits (licheng.contracts.files), as a policy.
RULES = UploadPolicy(max_bytes={FileKind(k): v for k, v in DEFAULT_FILE_LIMITS.items()})


def _key_for() -> KeyFor:
    return KeyFor(school_code="011302", owner_id=uuid.uuid4(), record_id=uuid.uuid4())


async def _objects(storage: ObjectStorage, bucket: str) -> list[str]:
    objects = await asyncio.to_thread(
        lambda: list(storage.client.list_objects(bucket, recursive=True))
    )
    return [o.object_name for o in objects if o.object_name]


async def test_stored_sha256_matches_and_bytes_round_trip(
    storage: ObjectStorage, bucket: str
) -> None:
    data = PDF + bytes(range(256)) * 20_000  # ~5 MB once padded below; spills to disk
    data = data[: 3 * MIB]
    stored = await storage.put_stream(
        bucket=bucket,
        chunks=iter_bytes(data),
        policy=RULES,
        key_for=_key_for(),
        claimed=FileKind.PDF,
    )
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert stored.kind is FileKind.PDF
    assert stored.key.endswith(f"/{stored.sha256}")
    assert await storage.read(bucket=bucket, key=stored.key) == data
    url = await storage.presigned_get(bucket=bucket, key=stored.key)
    async with httpx.AsyncClient() as http:
        downloaded = await http.get(url)
    assert downloaded.status_code == 200
    assert hashlib.sha256(downloaded.content).hexdigest() == stored.sha256


async def test_over_limit_stream_is_rejected_early_and_stores_nothing(
    storage: ObjectStorage, bucket: str
) -> None:
    consumed = 0

    async def endless_pdf() -> AsyncIterator[bytes]:
        nonlocal consumed
        yield PDF
        while True:
            consumed += 64 * 1024
            yield bytes(64 * 1024)

    policy = UploadPolicy(max_bytes={FileKind.PDF: 1 * MIB})
    with pytest.raises(FileTooLarge) as raised:
        await storage.put_stream(
            bucket=bucket, chunks=endless_pdf(), policy=policy, key_for=_key_for()
        )
    assert raised.value.status_code == 413
    assert raised.value.detail == {"max_bytes": MIB}
    assert consumed <= 2 * MIB  # it stopped reading soon after the limit
    assert await _objects(storage, bucket) == []


async def test_pdf_whose_bytes_are_png_is_rejected(storage: ObjectStorage, bucket: str) -> None:
    claimed = FileKind.from_filename("成果報告.pdf")
    with pytest.raises(FileTypeMismatch) as raised:
        await storage.put_stream(
            bucket=bucket,
            chunks=iter_bytes(PNG),
            policy=RULES,
            key_for=_key_for(),
            claimed=claimed,
        )
    assert raised.value.status_code == 415
    assert raised.value.detail == {"claimed": "pdf", "actual": "png"}
    assert await _objects(storage, bucket) == []


async def test_type_outside_policy_and_empty_files_are_rejected(
    storage: ObjectStorage, bucket: str
) -> None:
    images_only = UploadPolicy(max_bytes={FileKind.PNG: MIB, FileKind.JPG: MIB})
    with pytest.raises(UnsupportedFileType):
        await storage.put_stream(
            bucket=bucket, chunks=iter_bytes(PDF), policy=images_only, key_for=_key_for()
        )
    with pytest.raises(UnsupportedFileType):
        await storage.put_stream(
            bucket=bucket,
            chunks=iter_bytes(b"MZ\x90\x00" + bytes(100)),  # a Windows executable
            policy=RULES,
            key_for=_key_for(),
        )
    with pytest.raises(BadRequest):
        await storage.put_stream(
            bucket=bucket, chunks=iter_bytes(b""), policy=images_only, key_for=_key_for()
        )
    assert await _objects(storage, bucket) == []


async def test_kind_limit_applies_after_sniffing(storage: ObjectStorage, bucket: str) -> None:
    # A JPEG may be 1 MiB and an MP4 3 MiB: a 2 MiB JPEG sent without a claimed type fails.
    policy = UploadPolicy(max_bytes={FileKind.JPG: MIB, FileKind.MP4: 3 * MIB})
    with pytest.raises(FileTooLarge):
        await storage.put_stream(
            bucket=bucket,
            chunks=iter_bytes(JPG + bytes(2 * MIB)),
            policy=policy,
            key_for=_key_for(),
        )
    stored = await storage.put_stream(
        bucket=bucket, chunks=iter_bytes(JPG), policy=policy, key_for=_key_for()
    )
    assert stored.kind is FileKind.JPG
    assert await _objects(storage, bucket) == [stored.key]


def _spooled(data: bytes) -> tempfile.SpooledTemporaryFile[bytes]:
    """An upload as Starlette's multipart parser leaves it: memory up to 1 MiB, then disk."""
    spool = tempfile.SpooledTemporaryFile(max_size=MIB)  # noqa: SIM115
    spool.write(data)
    spool.seek(0)
    return spool


async def test_a_spooled_upload_is_checked_in_place_and_put_in_one_pass(
    storage: ObjectStorage, bucket: str
) -> None:
    data = (PDF + bytes(range(256)) * 20_000)[: 4 * MIB]  # on disk, like a 4 MB upload
    with _spooled(data) as spool:
        tracemalloc.start()
        try:
            received = await inspect_spooled(spool, policy=RULES, claimed=FileKind.PDF)
            stored = await storage.put(received, bucket=bucket, key_for=_key_for())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < MIB  # the bytes went from the spool to the socket, never whole in memory
    assert received.spool is spool  # no second copy
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.size == len(data)
    assert await storage.read(bucket=bucket, key=stored.key) == data
    stat = await asyncio.to_thread(storage.client.stat_object, bucket, stored.key)
    assert stat.content_type == "application/pdf"
    assert stat.metadata["x-amz-meta-sha256"] == stored.sha256


async def test_a_spooled_upload_breaking_the_policy_is_refused() -> None:
    images = UploadPolicy(max_bytes={FileKind.PNG: 1000, FileKind.PDF: MIB})
    cases: list[tuple[bytes, FileKind | None, type[Exception], str]] = [
        (b"", None, BadRequest, "file_empty"),
        (PNG, FileKind.PDF, FileTypeMismatch, "file_type_mismatch"),
        (b"MZ\x90\x00" + bytes(100), None, UnsupportedFileType, "file_type_not_allowed"),
        (PNG + bytes(1000), None, FileTooLarge, "file_too_large"),  # PNG's own limit
    ]
    for data, claimed, error, code in cases:
        with _spooled(data) as spool, pytest.raises(error) as raised:
            await inspect_spooled(spool, policy=images, claimed=claimed)
        assert getattr(raised.value, "error_code", None) == code


async def test_a_put_the_store_does_not_take_is_a_503(infra: TestInfra) -> None:
    unreachable = ObjectStorage(
        endpoint=f"127.0.0.1:{free_port()}",
        access_key=infra.s3_access_key,
        secret_key=infra.s3_secret_key,
    )
    with _spooled(PDF) as spool:
        received = await inspect_spooled(spool, policy=RULES)
        with pytest.raises(StorageUnavailable) as raised:
            await unreachable.put(received, bucket="licheng-uploads", key_for=_key_for())
    assert raised.value.status_code == 503
    assert raised.value.headers == {"Retry-After": "5"}


def test_object_keys_refuse_anything_but_ids() -> None:
    owner, record = uuid.uuid4(), uuid.uuid4()
    digest = hashlib.sha256(b"x").hexdigest()
    key = object_key(school_code="011302", owner_id=owner, record_id=record, sha256=digest)
    assert key == f"011302/{owner}/{record}/{digest}"
    with pytest.raises(ValueError, match="school code"):
        object_key(school_code="A123456789", owner_id=owner, record_id=record, sha256=digest)
    with pytest.raises(ValueError, match="SHA-256"):
        object_key(school_code="011302", owner_id=owner, record_id=record, sha256="王小明.pdf")


MP3_FRAME = b"\xff\xfb\x90\x00" + bytes(413)  # MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: 417 bytes


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (MP3_FRAME * 3, FileKind.MP3),
        (b"ID3\x04\x00" + bytes(200), FileKind.MP3),
        (b"\xff\xfb" + bytes(range(256)) * 30, None),  # a frame sync, then no second frame
        (b"\xff\xe0" + b"\x00" * 5000, None),
        (MP3_FRAME[:417], None),  # one frame only
        (b"%PDF-1.7\n" + bytes(100), FileKind.PDF),
    ],
)
def test_mpeg_audio_needs_two_real_frames(head: bytes, kind: FileKind | None) -> None:
    assert sniff_kind(head) == kind


@pytest.mark.parametrize(
    ("claimed", "kind", "stored"),
    [
        ("../../x.pdf", FileKind.PDF, "x.pdf"),
        ("evil.exe", FileKind.PDF, "evil.pdf"),
        ("C:\\Users\\學生\\成果 報告.PDF", FileKind.PDF, "成果 報告.pdf"),
        ("..", FileKind.PNG, "file.png"),
        ("a\x00b<>:|?.jpg", FileKind.JPG, "a_b_.jpg"),
        ("影片" * 200 + ".mp4", FileKind.MP4, "影片" * 58 + ".mp4"),
    ],
)
def test_stored_names_are_safe_base_names_with_the_true_extension(
    claimed: str, kind: FileKind, stored: str
) -> None:
    assert safe_filename(claimed, kind) == stored
