"""Building a student's portfolio ZIP: the attachments, an index page and its PDF.

The ZIP is written to a temporary file, off the event loop: every attachment is streamed from
the uploads bucket straight into its ZIP entry (64 KiB at a time, hashed on the way and checked
against the SHA-256 its record announced), then `index.html` (which links the files) and
`index.pdf` (the same index printed by WeasyPrint) are added. Attachments are named by their
place in the index (`files/outcome-01-1.pdf`), never by anything personal.

Student-provided text reaches the page only through Jinja2's autoescaping; a video link becomes
a link only when it is http(s); WeasyPrint is given a URL fetcher that fetches nothing.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import anyio
import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from minio import Minio
from minio.error import S3Error
from weasyprint import HTML  # type: ignore[import-untyped]
from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

from licheng.exports.models import OutcomeRow, PerformanceRow
from licheng.exports.portfolio.repository import PortfolioRows
from licheng.kit.spreadsheet import Download, roc_date, roc_datetime
from licheng.kit.storage import FileKind
from licheng.kit.tabular import in_worker
from licheng.kit.timeutil import TAIPEI, utcnow

log = structlog.get_logger("licheng.exports.portfolio")
# WeasyPrint reports each rendering step at info level: not worth a log line per download.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

CHUNK_SIZE = 64 * 1024
ZIP_MEDIA_TYPE = "application/zip"
TEMPLATES = Path(__file__).parent / "templates"
_MISSING_OBJECT = ("NoSuchKey", "NoSuchObject", "ResourceNotFound")
_ZIP64_LIMIT = (1 << 31) - 1

_KIND_LABELS = MappingProxyType(
    {
        FileKind.PDF: "PDF 文件",
        FileKind.JPG: "圖片",
        FileKind.PNG: "圖片",
        FileKind.MP3: "音訊",
        FileKind.MP4: "影片",
    }
)
_IMAGES = frozenset({FileKind.JPG, FileKind.PNG})


@dataclass(frozen=True)
class FieldLabel:
    """A 多元表現 field as the index shows it: its label, and code meanings for code fields."""

    name: str
    label: str
    choices: Mapping[str, str] = field(default_factory=dict)
    is_date: bool = False


@dataclass(frozen=True)
class CategoryLabels:
    """A 多元表現 category's title and its fields in the order the forms show them."""

    title: str
    fields: tuple[FieldLabel, ...]


def _f(name: str, label: str, **kwargs: Any) -> FieldLabel:
    return FieldLabel(name, label, **kwargs)


_PERIOD = (_f("start_date", "開始日期", is_date=True), _f("end_date", "結束日期", is_date=True))
_LEVELS = MappingProxyType({"1": "校級", "2": "縣市級", "3": "全國", "4": "國際"})
_CADRE_LEVELS = MappingProxyType(
    {"1": "校級幹部", "2": "班級幹部", "3": "社團幹部", "4": "實習幹部"}
)
_FLEXIBLE = MappingProxyType(
    {"1": "自主學習", "2": "選手培訓", "3": "充實(增廣)性教學", "4": "補強性教學",
     "5": "學校特色活動"}
)  # fmt: skip
_GROUP = MappingProxyType(
    {"1": "班級活動", "2": "社團活動", "3": "學生自治會活動", "4": "學生服務學習活動",
     "5": "週會或講座"}
)  # fmt: skip

# The performances service's categories (licheng.performances.categories), as the index shows
# them; the exports service reads only events, never that package.
CATEGORIES: Mapping[str, CategoryLabels] = MappingProxyType({
    "cadre": CategoryLabels("幹部經歷", (
        _f("unit_name", "單位名稱"), *_PERIOD, _f("role_title", "擔任職務"),
        _f("level", "幹部等級", choices=_CADRE_LEVELS))),
    "competition": CategoryLabels("競賽參與", (
        _f("name", "競賽名稱"), _f("item", "項目"), _f("level", "競賽等級", choices=_LEVELS),
        _f("award", "獎項"), _f("announced_on", "結果公布日期", is_date=True),
        _f("team", "團體參與", choices=MappingProxyType({"1": "個人", "2": "團體"})))),
    "certificate": CategoryLabels("檢定證照", (
        _f("certificate_code", "證照代碼"), _f("grade_or_score", "級數分數"),
        _f("score", "分數"), _f("sub_results", "分項結果"),
        _f("obtained_on", "取得證照日期", is_date=True), _f("certificate_no", "證照字號"),
        _f("exam_group", "檢定組別"))),
    "service": CategoryLabels("志工服務", (
        _f("name", "服務名稱"), _f("organisation", "服務單位"), *_PERIOD, _f("hours", "時數"))),
    "flexible": CategoryLabels("彈性學習", (
        _f("kind", "彈性學習時間種類", choices=_FLEXIBLE), _f("name", "內容(開設名稱)"),
        _f("organiser", "開設單位"), _f("offered_year", "開設學年度"),
        _f("offered_semester", "開設學期"), _f("periods_per_week", "每週節數"),
        _f("weeks", "開設週數"))),
    "workplace": CategoryLabels("職場學習", (
        _f("kind", "職場學習類別"), _f("organisation", "職場學習單位"),
        _f("job_title", "職場學習職稱"), *_PERIOD, _f("hours", "時數"))),
    "work": CategoryLabels("作品成果", (
        _f("name", "名稱"), _f("made_on", "日期", is_date=True))),
    "other": CategoryLabels("其他活動", (
        _f("name", "名稱"), _f("organiser", "主辦單位"), *_PERIOD, _f("hours", "時數"))),
    "group_activity": CategoryLabels("團體活動時間", (
        _f("kind", "團體活動時間類別", choices=_GROUP), _f("organiser", "辦理單位"),
        _f("name", "團體活動內容名稱"), _f("activity_year", "活動學年度"),
        _f("activity_semester", "活動學期"), _f("periods", "節數"))),
    "advanced_course": CategoryLabels("大學及技專校院先修課程", (
        _f("organiser", "開設單位"), _f("course_name", "課程名稱"), *_PERIOD,
        _f("credits", "學分數"), _f("total_hours", "總時數"))),
})  # fmt: skip
_CATEGORY_ORDER = {key: index for index, key in enumerate(CATEGORIES)}
# The field a record is best known by, for its heading.
_NAME_FIELDS = ("name", "course_name", "unit_name", "organisation")
_ORIGINS = MappingProxyType({"self": "學生自填", "imported": "學校匯入"})


@dataclass(frozen=True)
class Attachment:
    """A file of an item: where it is stored and where it goes in the ZIP."""

    label: str
    arcname: str
    key: str
    sha256: str
    size: int
    image: bool


@dataclass(frozen=True)
class Entry:
    """One selected item as the index shows it."""

    number: int
    title: str
    facts: tuple[tuple[str, str], ...]
    brief_label: str
    brief: str
    video_url: str | None
    video_href: str | None
    attachments: tuple[Attachment, ...]


@dataclass(frozen=True)
class PortfolioView:
    """What the index shows: the student, their items, and when it was made."""

    student_no: str
    name: str
    class_code: str | None
    seat_no: int | None
    generated_at: str
    outcomes: tuple[Entry, ...]
    performances: tuple[Entry, ...]

    @property
    def attachments(self) -> list[Attachment]:
        """Every attachment, in index order."""
        return [a for e in (*self.outcomes, *self.performances) for a in e.attachments]


class AttachmentMismatch(RuntimeError):
    """A stored file's bytes are not the ones its record announced."""


def _http_link(url: str | None) -> str | None:
    """The URL when it is an http(s) link (never `javascript:` or the like), else None."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def _file_kind(value: Any) -> FileKind | None:
    try:
        return FileKind(value)
    except ValueError:
        return None


def _attachments(files: Sequence[dict[str, Any]], *, prefix: str) -> tuple[Attachment, ...]:
    result = []
    for index, ref in enumerate(files, start=1):
        kind = _file_kind(ref.get("kind"))
        extension = kind.value if kind else "bin"
        label = f"附件 {index}（{_KIND_LABELS[kind] if kind else '檔案'}）"
        result.append(
            Attachment(
                label=label,
                arcname=f"files/{prefix}-{index}.{extension}",
                key=str(ref["key"]),
                sha256=str(ref["sha256"]).lower(),
                size=int(ref.get("size") or 0),
                image=kind in _IMAGES,
            )
        )
    return tuple(result)


def _term(year: int, semester: int | None = None) -> str:
    return f"{year} 學年度" + (f"第 {semester} 學期" if semester else "")


def outcome_entry(row: OutcomeRow, number: int) -> Entry:
    """An outcome as the index shows it; its files go under `files/outcome-NN-k`."""
    facts = [("學年度學期", _term(row.academic_year, row.semester))]
    if row.course_code:
        facts.append(("課程代碼", row.course_code))
    if row.credits is not None:
        facts.append(("學分數", str(row.credits)))
    if row.grade is not None:
        facts.append(("開課年級", str(row.grade)))
    facts += [("成果類型", row.outcome_type), ("認證狀態", "已認證")]
    return Entry(
        number=number,
        title=row.subject_name or "課程學習成果",
        facts=tuple(facts),
        brief_label="成果簡述",
        brief=row.brief,
        video_url=row.video_url,
        video_href=_http_link(row.video_url),
        attachments=_attachments(row.files, prefix=f"outcome-{number:02d}"),
    )


def _field_text(spec: FieldLabel, value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    if spec.is_date:
        with contextlib.suppress(ValueError):
            return roc_date(date.fromisoformat(text))
    if spec.choices:
        return spec.choices.get(text, text)
    return text


def performance_entry(
    row: PerformanceRow, number: int, *, certificate_names: Mapping[str, str]
) -> Entry:
    """A 多元表現 record as the index shows it; its files go under `files/performance-NN-k`."""
    labels = CATEGORIES.get(row.category, CategoryLabels(row.category, ()))
    facts = [("學年度", _term(row.academic_year)), ("類別", labels.title)]
    for spec in labels.fields:
        value = row.fields.get(spec.name)
        if value is None or value == "":
            continue
        facts.append((spec.label, _field_text(spec, value)))
        if spec.name == "certificate_code" and str(value) in certificate_names:
            facts.append(("證照名稱", certificate_names[str(value)]))
    facts.append(("來源", _ORIGINS.get(row.origin, row.origin)))
    name = next((str(row.fields[f]) for f in _NAME_FIELDS if row.fields.get(f)), None)
    if row.category == "certificate":
        code = str(row.fields.get("certificate_code") or "")
        name = certificate_names.get(code) or code or None
    return Entry(
        number=number,
        title=f"{labels.title}：{name}" if name else labels.title,
        facts=tuple(facts),
        brief_label="內容簡述",
        brief=row.brief,
        video_url=row.video_url,
        video_href=_http_link(row.video_url),
        attachments=_attachments(row.files, prefix=f"performance-{number:02d}"),
    )


def _performance_order(row: PerformanceRow) -> tuple[int, int, str, str]:
    dated = ("start_date", "announced_on", "obtained_on", "made_on")
    when = next((str(row.fields[f]) for f in dated if row.fields.get(f)), "")
    return (row.academic_year, _CATEGORY_ORDER.get(row.category, 99), when, str(row.performance_id))


def portfolio_view(rows: PortfolioRows, *, generated_at: datetime | None = None) -> PortfolioView:
    """The index's content: the student, outcomes by term, records by year and category."""
    person = rows.student
    outcomes = tuple(outcome_entry(row, n) for n, row in enumerate(rows.outcomes, start=1))
    ordered = sorted(rows.performances, key=_performance_order)
    performances = tuple(
        performance_entry(row, n, certificate_names=rows.certificate_names)
        for n, row in enumerate(ordered, start=1)
    )
    return PortfolioView(
        student_no=person.local_no,
        name=person.name,
        class_code=person.class_code,
        seat_no=person.seat_no,
        generated_at=roc_datetime(generated_at or utcnow()),
        outcomes=outcomes,
        performances=performances,
    )


_environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def render_index(view: PortfolioView, *, missing: frozenset[str], for_pdf: bool) -> str:
    """The index page: linked files and image previews in HTML, plain file names for the PDF."""
    template = _environment.get_template("portfolio.html.j2")
    return template.render(view=view, missing=missing, for_pdf=for_pdf)


def render_pdf(html: str) -> bytes:
    """The index printed to PDF by WeasyPrint, fetching nothing from anywhere."""
    no_fetching = URLFetcher(allowed_protocols=frozenset())
    pdf: bytes = HTML(string=html, url_fetcher=no_fetching).write_pdf()
    return pdf


def _copy_attachment(
    archive: zipfile.ZipFile,
    attachment: Attachment,
    *,
    client: Minio,
    bucket: str,
    stamp: tuple[int, int, int, int, int, int],
) -> bool:
    """Stream one stored file into its ZIP entry; False when the object is gone."""
    try:
        response = client.get_object(bucket, attachment.key)
    except S3Error as exc:
        if exc.code in _MISSING_OBJECT:
            log.warning("portfolio.attachment_missing", key=attachment.key)
            return False
        raise
    digest = hashlib.sha256()
    info = zipfile.ZipInfo(attachment.arcname, date_time=stamp)
    info.compress_type = zipfile.ZIP_STORED  # pdf, jpg, png, mp3, mp4 are compressed already
    try:
        with archive.open(info, "w", force_zip64=attachment.size >= _ZIP64_LIMIT) as entry:
            for chunk in response.stream(CHUNK_SIZE):
                digest.update(chunk)
                entry.write(chunk)
    finally:
        response.close()
        response.release_conn()
    if digest.hexdigest() != attachment.sha256:
        raise AttachmentMismatch(f"stored object {attachment.key} does not match its SHA-256")
    return True


def write_portfolio(path: Path, view: PortfolioView, *, client: Minio, bucket: str) -> None:
    """Write the portfolio ZIP to `path` (synchronous, blocking: run it in a worker thread)."""
    now = utcnow().astimezone(TAIPEI)
    stamp = (now.year, now.month, now.day, now.hour, now.minute, now.second)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        missing = frozenset(
            attachment.arcname
            for attachment in view.attachments
            if not _copy_attachment(archive, attachment, client=client, bucket=bucket, stamp=stamp)
        )
        html = render_index(view, missing=missing, for_pdf=False)
        archive.writestr(zipfile.ZipInfo("index.html", date_time=stamp), html.encode(),
                         compress_type=zipfile.ZIP_DEFLATED)  # fmt: skip
        pdf = render_pdf(render_index(view, missing=missing, for_pdf=True))
        archive.writestr(zipfile.ZipInfo("index.pdf", date_time=stamp), pdf,
                         compress_type=zipfile.ZIP_STORED)  # fmt: skip


def _new_temporary_file() -> Path:
    handle, name = tempfile.mkstemp(prefix="licheng-portfolio-", suffix=".zip")
    os.close(handle)
    return Path(name)


def _build(view: PortfolioView, *, client: Minio, bucket: str) -> Path:
    path = _new_temporary_file()
    try:
        write_portfolio(path, view, client=client, bucket=bucket)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


async def build_portfolio(rows: PortfolioRows, *, client: Minio, bucket: str) -> Path:
    """The portfolio ZIP in a temporary file, built in a worker thread; the caller removes it."""
    view = portfolio_view(rows)
    with anyio.CancelScope(shield=True):  # a cancelled request must not leave a file behind
        path = await in_worker(_build, view, client=client, bucket=bucket)
    return path


def download_name(student_no: str) -> Download:
    """`學習歷程_<學號>.zip`, with an ASCII fallback for old clients."""
    return Download(filename=f"學習歷程_{student_no}.zip", fallback=f"portfolio_{student_no}.zip")
