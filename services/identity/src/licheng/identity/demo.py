"""Demo data for the one-command local run: one school (in the current term), its staff,
classes and students.

Only ever enabled in development (`LICHENG_IDENTITY_SEED_DEMO=true`, refused in production);
the people are fictitious and the 身分證號 are checksum-valid inventions.
"""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from licheng.contracts.permissions import Role
from licheng.contracts.schools import term_of
from licheng.identity.crypto import PiiCipher
from licheng.identity.grants import service as grants
from licheng.identity.models import PersonKind
from licheng.identity.people import imports
from licheng.identity.people import repository as people
from licheng.identity.schools import repository as schools
from licheng.identity.schools.service import AdminAppointment, SchoolCreate, create_school
from licheng.kit.db import SessionFactory
from licheng.kit.timeutil import TAIPEI, utcnow

DEMO_SCHOOL = "011302"
DEMO_ACCOUNTS = {
    "operator": "教育局（處）管理者",
    "011302-t-a001": "系統管理者",
    "011302-t-t001": "導師（101 班）",
    "011302-t-t002": "授課教師",
    "011302-t-t003": "課程學習提交者",
    "011302-t-t004": "多元表現提交者",
    "011302-s-110001": "學生（101 班）",
}
STAFF = "教師編號,姓名,email\nT001,陳怡君,t001@demo.school.tw\nT002,王冠廷,t002@demo.school.tw\n"
STAFF += "T003,張淑芬,t003@demo.school.tw\nT004,李志明,t004@demo.school.tw\nT005,黃雅琪,\n"
CLASSES = "班級代碼,年級,班級名稱,導師\n101,1,普一甲,T001\n102,1,普一乙,T005\n"
STUDENTS = "學號,姓名,班級,座號,身分證號,出生日期,在籍狀態\n" + "\n".join(
    [
        "110001,林家豪,101,1,A123456789,0970501,在籍",
        "110002,吳詩涵,101,2,B220154307,0970812,在籍",
        "110003,蔡承恩,101,3,F131104093,0961130,在籍",
        "110004,許子晴,102,1,E201187656,0970214,在籍",
        "110005,鄭柏宇,102,2,H123456786,0970909,在籍",
        "110006,謝欣妤,102,3,K120987651,0970320,休學",
    ]
)
GRANTS = {"T002": Role.COURSE_TEACHER, "T003": Role.COURSE_SUBMITTER,
          "T004": Role.PERFORMANCE_SUBMITTER, "T005": Role.COUNSELOR}  # fmt: skip


async def _seed(session: AsyncSession, cipher: PiiCipher) -> None:
    term = term_of(utcnow().astimezone(TAIPEI).date())
    await create_school(
        session,
        payload=SchoolCreate(
            code=DEMO_SCHOOL,
            name="歷程示範高級中學",
            academic_year=term.academic_year,
            semester=term.semester,
            admin=AdminAppointment(staff_no="A001", name="林管理", email="admin@demo.school.tw"),
        ),
        actor_id=None,
    )
    await imports.import_staff(
        session, school_code=DEMO_SCHOOL, data=STAFF.encode(), filename="staff.csv", actor_id=None
    )
    await imports.import_classes(
        session,
        school_code=DEMO_SCHOOL,
        data=CLASSES.encode(),
        filename="classes.csv",
        actor_id=None,
    )
    await imports.import_students(
        session,
        school_code=DEMO_SCHOOL,
        data=STUDENTS.encode(),
        filename="students.csv",
        cipher=cipher,
        actor_id=None,
    )
    staff = await people.people_by_local_no(session, DEMO_SCHOOL, PersonKind.STAFF)
    for staff_no, role in GRANTS.items():
        await grants.grant(
            session, school_code=DEMO_SCHOOL, person_id=staff[staff_no].id, role=role, actor_id=None
        )


async def seed_demo(session_factory: SessionFactory, cipher: PiiCipher) -> bool:
    """Create the demo school once; False when it is already there."""
    async with session_factory() as session:
        if await schools.get(session, DEMO_SCHOOL) is not None:
            return False
        await _seed(session, cipher)
        await session.commit()
    return True
