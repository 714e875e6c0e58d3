"""Benchmark P2: a 4 MB upload through the gateway → course-outcomes → S3, against a direct
`minio` put of the same bytes to the same S3, in the same run.

Run after `./licheng infra up`:  uv run python -m bench.uploads [--quick]
Each student of a seeded school has a draft outcome; its PDF goes to `PUT …/files/document`
through the gateway (the service checks the content, hashes, stores it in SeaweedFS and records
it). Timed: one upload at a time, and four at once (each to another outcome), in MB/s of file
bytes; the reference is `Minio.put_object` of the same bytes to the same bucket, one at a time
and four threads at once. Memory: course-outcomes' RSS (/proc) while eight uploads are in
flight at once, against its RSS just before; the growth divided by eight is the memory an
upload in flight costs (goal ≤ 1 MiB).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import time
import uuid

import httpx
from minio import Minio

from bench.campus import Campus, campus, pdf_bytes, seed_school
from bench.rows import Row, render

SIZE = 4_000_000
RATIO_GOAL = 0.6
MEMORY_GOAL = 1024 * 1024
IN_FLIGHT = 8


Target = tuple[str, dict[str, str]]


async def _outcomes(client: httpx.AsyncClient, lab: Campus, count: int) -> list[Target]:
    """`count` students' draft outcomes: (upload URL, the student's headers)."""
    school = await seed_school(lab.courses_db, count)
    base = f"/api/course-outcomes/v1/schools/{school.code}"
    made = []
    for student in school.students:
        headers = lab.headers(school.code, "student", person_id=student)
        response = await client.post(
            f"{base}/outcomes",
            headers=headers,
            json={"enrolment_id": str(school.enrolment_of[student]), "outcome_type": "書面報告",
                  "brief": "效能測試"},
        )  # fmt: skip
        assert response.status_code == 201, response.text
        made.append((f"{base}/outcomes/{response.json()['id']}/files/document", headers))
    return made


async def _upload(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], body: bytes
) -> None:
    response = await client.put(
        url, headers=headers, files={"file": ("成果.pdf", body, "application/pdf")}
    )
    assert response.status_code == 200, response.text


async def _through_gateway(
    client: httpx.AsyncClient, targets: list[Target], rounds: int, width: int
) -> float:
    """MB/s of `rounds` rounds of `width` uploads at once."""
    started = time.perf_counter()
    marker = 0
    for _ in range(rounds):
        batch = []
        for url, headers in targets[:width]:
            marker += 1
            batch.append(_upload(client, url, headers, pdf_bytes(SIZE, marker)))
        await asyncio.gather(*batch)
    return rounds * width * SIZE / (time.perf_counter() - started) / 1e6


def _minio(lab: Campus) -> Minio:
    return Minio(
        lab.infra.s3_endpoint,
        access_key=lab.infra.s3_access_key,
        secret_key=lab.infra.s3_secret_key,
        secure=False,
    )


async def _direct(storage: Minio, bucket: str, rounds: int, width: int) -> float:
    """MB/s of `rounds` rounds of `width` minio puts at once (threads, as minio is blocking)."""

    def put(marker: int) -> None:
        body = pdf_bytes(SIZE, marker)
        storage.put_object(
            bucket, f"bench/{uuid.uuid4()}", io.BytesIO(body), len(body), "application/pdf"
        )

    started = time.perf_counter()
    marker = 0
    for _ in range(rounds):
        batch = []
        for _ in range(width):
            marker += 1
            batch.append(asyncio.to_thread(put, marker))
        await asyncio.gather(*batch)
    return rounds * width * SIZE / (time.perf_counter() - started) / 1e6


async def _memory_per_upload(
    client: httpx.AsyncClient, lab: Campus, targets: list[Target]
) -> tuple[int, int]:
    """(RSS before, peak RSS growth) of course-outcomes with `IN_FLIGHT` uploads at once."""
    before = lab.courses.rss_bytes()
    peak = before
    done = asyncio.Event()

    async def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, lab.courses.rss_bytes())
            await asyncio.sleep(0.005)

    sampler = asyncio.create_task(sample())
    await asyncio.gather(
        *(
            _upload(client, url, headers, pdf_bytes(SIZE, 10**6 + n))
            for n, (url, headers) in enumerate(targets[:IN_FLIGHT])
        )
    )
    done.set()
    await sampler
    return before, peak - before


async def measure(lab: Campus, *, quick: bool = False) -> list[Row]:
    """The upload rows of the table."""
    rounds = 1 if quick else 6
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=lab.gateway.url, timeout=timeout) as client:
        targets = await _outcomes(client, lab, IN_FLIGHT)
        storage = _minio(lab)
        bucket = "licheng-uploads"
        await _upload(client, *targets[0], pdf_bytes(SIZE, 0))  # warm-up: JWKS, pools, bucket
        await _direct(storage, bucket, 1, 1)
        gw_one = await _through_gateway(client, targets, rounds * 2, 1)
        direct_one = await _direct(storage, bucket, rounds * 2, 1)
        before, growth = await _memory_per_upload(client, lab, targets)
        gw_four = await _through_gateway(client, targets, rounds, 4)
        direct_four = await _direct(storage, bucket, rounds, 4)
    per_upload = growth / IN_FLIGHT
    print(
        f"4 MB upload: gateway {gw_one:.1f} MB/s one at a time, {gw_four:.1f} MB/s four at once; "
        f"direct minio {direct_one:.1f} / {direct_four:.1f} MB/s; course-outcomes RSS "
        f"{before / 2**20:.0f} MiB, +{growth / 2**20:.1f} MiB with {IN_FLIGHT} in flight"
    )
    return [
        Row(
            "P2",
            "4 MB upload via gateway→course-outcomes→S3, one at a time",
            f"{gw_one:.1f} MB/s",
            f"direct minio put {direct_one:.1f} MB/s",
            gw_one / direct_one,
            f"≥ {RATIO_GOAL}×",
            gw_one / direct_one >= RATIO_GOAL,
        ),
        Row(
            "P2",
            "4 MB upload via gateway→course-outcomes→S3, 4 at once",
            f"{gw_four:.1f} MB/s",
            f"direct minio put ×4 {direct_four:.1f} MB/s",
            gw_four / direct_four,
            f"≥ {RATIO_GOAL}×",
            gw_four / direct_four >= RATIO_GOAL,
        ),
        Row(
            "P2",
            f"course-outcomes RSS growth per upload in flight ({IN_FLIGHT} at once)",
            f"{per_upload / 2**20:.2f} MiB",
            f"RSS before {before / 2**20:.0f} MiB",
            None,
            "≤ 1 MiB",
            per_upload <= MEMORY_GOAL,
        ),
    ]


async def _main(quick: bool) -> None:
    async with campus() as lab:
        print(render(await measure(lab, quick=quick)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    asyncio.run(_main(parser.parse_args().quick))
