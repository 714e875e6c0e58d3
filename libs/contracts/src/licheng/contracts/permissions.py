"""Roles, capabilities and scopes of DESIGN §5, kept as data.

The matrix is the seed specification's permission table (seed-spec 第 4 章) with the scope each
role holds a capability in. A capability a role lacks is simply absent from its row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType


class Role(StrEnum):
    """A school role; a person may hold several in one school and roles in several schools."""

    ADMIN = "admin"  # 系統管理者
    COURSE_SUBMITTER = "course_submitter"  # 課程學習提交者
    PERFORMANCE_SUBMITTER = "performance_submitter"  # 多元表現提交者
    CADRE_SUBMITTER = "cadre_submitter"  # 校內幹部提交者
    PERFORMANCE_ITEM_MANAGER = "performance_item_manager"  # 多元項目管理者
    CERTIFICATE_MANAGER = "certificate_manager"  # 證照項目管理者
    COURSE_TEACHER = "course_teacher"  # 授課教師
    HOMEROOM_TEACHER = "homeroom_teacher"  # 導師
    COUNSELOR = "counselor"  # 課程諮詢教師
    STUDENT = "student"  # 學生


class Capability(StrEnum):
    """A column of the seed's permission table."""

    PERMISSIONS_MANAGE = "permissions.manage"  # 權限設定
    ANNOUNCEMENTS_EDIT = "announcements.edit"  # 公告編輯
    PORTFOLIO_WRITE = "portfolio.write"  # 增修學生歷程資料
    PORTFOLIO_READ = "portfolio.read"  # 瀏覽學生歷程資料
    OUTCOMES_CERTIFY = "outcomes.certify"  # 課程學習成果認證
    CERTIFICATES_MANAGE = "certificates.manage"  # 管理檢定證照項目
    ROSTERS_SUBMIT = "rosters.submit"  # 提交資料至國教署
    PROFILE_MAINTAIN = "profile.maintain"  # 學生資料維護
    COUNSELING_RECORD = "counseling.record"  # 課程諮詢紀錄


class Scope(StrEnum):
    """How far a granted capability reaches inside one school."""

    ALL = "all"  # the whole school
    COURSE_OUTCOMES = "course_outcomes"  # 限課程
    PERFORMANCES = "performances"  # 限多元
    CADRE = "cadre"  # 限幹部
    PERFORMANCE_ITEMS = "performance_items"  # 限項目
    CERTIFICATES = "certificates"  # 限證照
    OWN = "own"  # the student's own records
    OWN_CLASS = "own_class"  # the homeroom teacher's class (identity's homeroom assignments)
    OWN_COURSES = "own_courses"  # the teacher's course sections, reassignments included


R, C, S = Role, Capability, Scope

PERMISSION_MATRIX: Mapping[Capability, Mapping[Role, Scope]] = MappingProxyType(
    {
        C.PERMISSIONS_MANAGE: {R.ADMIN: S.ALL},
        C.ANNOUNCEMENTS_EDIT: {R.ADMIN: S.ALL},
        C.PORTFOLIO_WRITE: {
            R.ADMIN: S.ALL,
            R.PERFORMANCE_SUBMITTER: S.PERFORMANCES,
            R.CADRE_SUBMITTER: S.CADRE,
            R.PERFORMANCE_ITEM_MANAGER: S.PERFORMANCE_ITEMS,
            R.CERTIFICATE_MANAGER: S.CERTIFICATES,
            R.STUDENT: S.OWN,
        },
        C.PORTFOLIO_READ: {
            R.ADMIN: S.ALL,
            R.COURSE_SUBMITTER: S.COURSE_OUTCOMES,
            R.PERFORMANCE_SUBMITTER: S.PERFORMANCES,
            R.CADRE_SUBMITTER: S.CADRE,
            R.PERFORMANCE_ITEM_MANAGER: S.PERFORMANCE_ITEMS,
            R.CERTIFICATE_MANAGER: S.CERTIFICATES,
            R.HOMEROOM_TEACHER: S.OWN_CLASS,
            R.STUDENT: S.OWN,
        },
        C.OUTCOMES_CERTIFY: {R.COURSE_TEACHER: S.OWN_COURSES},
        C.CERTIFICATES_MANAGE: {R.ADMIN: S.ALL, R.CERTIFICATE_MANAGER: S.ALL},
        C.ROSTERS_SUBMIT: {
            R.ADMIN: S.ALL,
            R.COURSE_SUBMITTER: S.COURSE_OUTCOMES,
            R.PERFORMANCE_SUBMITTER: S.PERFORMANCES,
            R.CADRE_SUBMITTER: S.CADRE,
        },
        C.PROFILE_MAINTAIN: {R.STUDENT: S.OWN},
        C.COUNSELING_RECORD: {R.COUNSELOR: S.ALL},
    }
)

del R, C, S

ROLE_TITLES: Mapping[Role, str] = MappingProxyType(
    {
        Role.ADMIN: "系統管理者",
        Role.COURSE_SUBMITTER: "課程學習提交者",
        Role.PERFORMANCE_SUBMITTER: "多元表現提交者",
        Role.CADRE_SUBMITTER: "校內幹部提交者",
        Role.PERFORMANCE_ITEM_MANAGER: "多元項目管理者",
        Role.CERTIFICATE_MANAGER: "證照項目管理者",
        Role.COURSE_TEACHER: "授課教師",
        Role.HOMEROOM_TEACHER: "導師",
        Role.COUNSELOR: "課程諮詢教師",
        Role.STUDENT: "學生",
    }
)

CAPABILITY_TITLES: Mapping[Capability, str] = MappingProxyType(
    {
        Capability.PERMISSIONS_MANAGE: "權限設定",
        Capability.ANNOUNCEMENTS_EDIT: "公告編輯",
        Capability.PORTFOLIO_WRITE: "增修學生歷程資料",
        Capability.PORTFOLIO_READ: "瀏覽學生歷程資料",
        Capability.OUTCOMES_CERTIFY: "課程學習成果認證",
        Capability.CERTIFICATES_MANAGE: "管理檢定證照項目",
        Capability.ROSTERS_SUBMIT: "提交資料至國教署",
        Capability.PROFILE_MAINTAIN: "學生資料維護",
        Capability.COUNSELING_RECORD: "課程諮詢紀錄",
    }
)


def scopes_for(capability: Capability, roles: Iterable[Role]) -> frozenset[Scope]:
    """The scopes in which holders of `roles` have `capability`; empty when none grants it."""
    row = PERMISSION_MATRIX[capability]
    return frozenset(row[role] for role in roles if role in row)


def capabilities_of(roles: Iterable[Role]) -> frozenset[Capability]:
    """Every capability some role in `roles` grants."""
    held = set(roles)
    return frozenset(cap for cap, row in PERMISSION_MATRIX.items() if held & row.keys())
