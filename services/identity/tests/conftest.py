"""Identity test fixtures: a migrated database, the running app, school files to import, a seeded
school and row counts."""

from __future__ import annotations

import csv
import io
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from licheng.identity.app import create_app
from licheng.identity.cli import MIGRATIONS_DIR
from licheng.identity.settings import Settings
from licheng.testing.apps import running, service_settings
from licheng.testing.fixtures import MigratedDatabaseFactory, TestIssuer
from licheng.testing.infra import TestInfra
from licheng.testing.workbooks import xlsx_bytes

LETTERS = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17, "I": 34, "J": 18,
    "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23, "Q": 24, "R": 25, "S": 26, "T": 27,
    "U": 28, "V": 29, "W": 32, "X": 30, "Y": 31, "Z": 33,
}  # fmt: skip
STUDENT_HEADER = ["學號", "姓名", "班級", "座號", "身分證號", "出生日期", "在籍狀態"]
STAFF_HEADER = ["教師編號", "姓名", "email"]
CLASS_HEADER = ["班級代碼", "年級", "班級名稱", "導師"]
SEED_CLASSES = ["101", "102", "201"]
SURNAMES = "王林陳張李黃吳劉蔡楊許鄭謝郭洪曾邱廖賴徐"
GIVEN = "怡君冠廷家豪雅婷宗翰詩涵承恩子晴柏宇欣妤品妍宥辰碁"


def national_id(rng: random.Random, second: str | None = None) -> str:
    """A valid 身分證號 (checksum computed independently of the code under test)."""
    letter = rng.choice(sorted(LETTERS))
    digits = [int(second or rng.choice("12"))] + [rng.randrange(10) for _ in range(7)]
    code = LETTERS[letter]
    total = (
        code // 10
        + (code % 10) * 9
        + sum(d * w for d, w in zip(digits, range(8, 0, -1), strict=False))
    )
    check = (10 - total % 10) % 10
    return letter + "".join(map(str, digits)) + str(check)


def student_rows(count: int, classes: list[str], seed: int = 7) -> list[list[Any]]:
    """`count` students spread over `classes`, with unique 學號 and 身分證號."""
    rng = random.Random(seed)
    ids: set[str] = set()
    rows: list[list[Any]] = []
    for n in range(count):
        nid = national_id(rng)
        while nid in ids:
            nid = national_id(rng)
        ids.add(nid)
        name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN)
        birth = date(2009, 1, 1).toordinal() + rng.randrange(700)
        rows.append([
            f"{110000 + n}", name, classes[n % len(classes)], n // len(classes) + 1, nid,
            date.fromordinal(birth).isoformat(), "在籍",
        ])  # fmt: skip
    return rows


def xlsx(header: list[str], rows: list[list[Any]]) -> bytes:
    """A workbook with one sheet."""
    return xlsx_bytes(header, rows)


def csv_bytes(header: list[str], rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    """A CSV file in the given encoding (utf-8, cp950 for Big5)."""
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(header)
    writer.writerows(rows)
    return text.getvalue().encode(encoding)


@dataclass
class IdentityApi:
    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    school: str

    def as_admin(self, person_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of the school's admin."""
        return self.issuer.headers(person_id=person_id, groups=[f"/schools/{self.school}/admin"])

    def as_roles(self, *roles: str, person_id: uuid.UUID | None = None) -> dict[str, str]:
        """Headers of someone holding `roles` in the school."""
        groups = [f"/schools/{self.school}/{r}" for r in roles]
        return self.issuer.headers(person_id=person_id, groups=groups)

    def operator(self) -> dict[str, str]:
        """Headers of the district operator."""
        return self.issuer.headers(groups=["/district/operators"])

    async def upload(
        self, kind: str, name: str, data: bytes, headers: dict[str, str]
    ) -> httpx.Response:
        """POST an import file."""
        return await self.client.post(
            f"/api/identity/v1/schools/{self.school}/imports/{kind}",
            files={"file": (name, data)},
            headers=headers,
        )


SettingsFactory = Callable[..., Settings]


@pytest.fixture
async def identity_settings(
    infra: TestInfra, migrated_database: MigratedDatabaseFactory, issuer: TestIssuer
) -> SettingsFactory:
    url = await migrated_database(MIGRATIONS_DIR, "identity")

    def factory(**overrides: Any) -> Settings:
        return service_settings(
            Settings,
            infra=infra,
            database_url=url,
            jwks_url=issuer.jwks_url,
            issuer=issuer.issuer,
            **overrides,
        )

    return factory


@pytest.fixture
async def api(
    identity_settings: SettingsFactory, issuer: TestIssuer, nats_client: object
) -> AsyncIterator[IdentityApi]:
    """The identity service (no Keycloak sync) with one school created by the operator."""
    app = create_app(identity_settings())
    school = f"{random.randrange(10**6):06d}"
    async with running(app) as client:
        api = IdentityApi(client=client, app=app, issuer=issuer, school=school)
        created = await client.post(
            "/api/identity/v1/schools",
            json={"code": school, "name": "國立測試高級中學", "academic_year": 115, "semester": 1,
                  "admin": {"staff_no": "A001", "name": "系統管理員", "email": "admin@school.tw"}},
            headers=api.operator(),
        )  # fmt: skip
        assert created.status_code == 201, created.text
        yield api


class SchoolFiles:
    """Builders for the files a school imports (exposed as the `files` fixture)."""

    STUDENT_HEADER = STUDENT_HEADER
    national_id = staticmethod(national_id)
    student_rows = staticmethod(student_rows)
    xlsx = staticmethod(xlsx)
    csv = staticmethod(csv_bytes)


@pytest.fixture
def files() -> type[SchoolFiles]:
    return SchoolFiles


@dataclass
class Seeded:
    """What `seed` imported: the students file's rows, the staff by 教師編號, the class codes."""

    rows: list[list[Any]]
    staff: dict[str, dict[str, Any]]
    classes: list[str]


@pytest.fixture
def seed(api: IdentityApi) -> Callable[..., Awaitable[Seeded]]:
    """Imports three staff (T001 導師 of 101, T002 of 102, T003), classes 101, 102 and 201, then
    `students` students spread over them: `await seed(students=30)`."""

    async def seed_school(students: int = 30) -> Seeded:
        admin = api.as_admin()
        staff = csv_bytes(
            STAFF_HEADER,
            [
                ["T001", "陳老師", "chen@school.tw"],
                ["T002", "林老師", ""],
                ["T003", "張老師", "chang@school.tw"],
            ],
        )
        assert (await api.upload("staff", "staff.csv", staff, admin)).status_code == 200
        classes = xlsx(
            CLASS_HEADER,
            [["101", 1, "普一甲", "T001"], ["102", 1, "普一乙", "T002"], ["201", 2, "普二甲", ""]],
        )
        assert (await api.upload("classes", "classes.xlsx", classes, admin)).status_code == 200
        rows = student_rows(students, SEED_CLASSES)
        response = await api.upload("students", "students.xlsx", xlsx(STUDENT_HEADER, rows), admin)
        assert response.status_code == 200, response.text
        staff_list = (
            await api.client.get(f"/api/identity/v1/schools/{api.school}/staff", headers=admin)
        ).json()["items"]
        return Seeded(
            rows=rows,
            staff={p["local_no"]: p for p in staff_list},
            classes=list(SEED_CLASSES),
        )

    return seed_school


@pytest.fixture
def count_rows(api: IdentityApi) -> Callable[[Any], Awaitable[int]]:
    """The number of rows in a table (a model or `sa.table(...)`) of the app's database."""

    async def count(table: Any) -> int:
        async with api.app.state.engine.connect() as connection:
            query = sa.select(sa.func.count()).select_from(table)
            return int((await connection.execute(query)).scalar_one())

    return count
