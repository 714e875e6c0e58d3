"""The menu: what the permission matrix lets the person do in the chosen school, nothing more."""

from __future__ import annotations

from dataclasses import dataclass

from licheng.contracts.permissions import ROLE_TITLES, Role
from licheng.web.sessions import Session


@dataclass(frozen=True)
class MenuItem:
    title: str
    href: str


RECEIPTS = MenuItem("收訖明細", "/receipts")

# Each role's pages, in the order they appear (a page shows once even if several roles have it).
ROLE_PAGES: dict[Role, tuple[MenuItem, ...]] = {
    Role.STUDENT: (
        MenuItem("我的課程學習成果", "/student/outcomes"),
        MenuItem("我的多元表現", "/student/performances"),
        MenuItem("自傳與學習計畫", "/student/writings"),
        MenuItem("學習歷程檔案下載", "/student/portfolio"),
        MenuItem("學生資料維護", "/student/profile"),
        MenuItem("我的收訖明細", "/student/receipts"),
    ),
    Role.COURSE_TEACHER: (MenuItem("待認證成果", "/teacher/certifications"),),
    Role.HOMEROOM_TEACHER: (
        MenuItem("班級課程學習成果", "/homeroom"),
        MenuItem("班級多元表現", "/homeroom/performances"),
        MenuItem("班級課程諮詢紀錄", "/homeroom/counseling"),
        MenuItem("班級收訖明細確認", "/homeroom/receipts"),
    ),
    Role.COUNSELOR: (MenuItem("課程諮詢紀錄", "/counseling"),),
    Role.COURSE_SUBMITTER: (
        MenuItem("課程學習成果參數設定", "/courses/parameters"),
        MenuItem("課程學習成果填報狀況", "/courses/status"),
        MenuItem("修課紀錄匯入", "/courses/imports"),
        MenuItem("課程學習成果名冊提交", "/rosters/26"),
        RECEIPTS,
    ),
    Role.PERFORMANCE_SUBMITTER: (
        MenuItem("多元表現參數設定", "/performances/parameters"),
        MenuItem("多元表現填報狀況", "/performances/status"),
        MenuItem("多元表現名冊提交", "/rosters/25"),
        RECEIPTS,
    ),
    Role.CADRE_SUBMITTER: (
        MenuItem("校內幹部匯入", "/cadres/imports"),
        MenuItem("校內幹部名冊提交", "/rosters/24"),
        RECEIPTS,
    ),
    Role.PERFORMANCE_ITEM_MANAGER: (MenuItem("多元表現批次匯入", "/performance-items/imports"),),
    Role.CERTIFICATE_MANAGER: (MenuItem("檢定證照項目", "/certificates"),),
    Role.ADMIN: (
        MenuItem("人員與班級匯入", "/admin/imports"),
        MenuItem("權限設定", "/admin/grants"),
        MenuItem("公告管理", "/admin/announcements"),
        MenuItem("名冊提交紀錄與解鎖", "/rosters"),
        RECEIPTS,
        MenuItem("班級收訖明細確認", "/homeroom/receipts"),
        MenuItem("稽核紀錄", "/admin/audit"),
    ),
}
EVERYONE = (MenuItem("公告", "/announcements"),)
DISTRICT = (MenuItem("學校管理", "/district/schools"),)


def menu_for(session: Session) -> list[MenuItem]:
    """The pages the person may open in the chosen school."""
    items: list[MenuItem] = []
    if session.district_operator:
        items.extend(DISTRICT)
    held = set(session.roles())
    for role, pages in ROLE_PAGES.items():
        if role.value in held:
            items.extend(p for p in pages if p not in items)
    if held:
        items.extend(EVERYONE)
    return items


def role_titles(session: Session) -> list[str]:
    """The zh-TW titles of the roles held in the chosen school."""
    return [ROLE_TITLES[Role(r)] for r in session.roles() if r in Role._value2member_map_]
