"""A CSV of leads the merchant brings (source IMPORT), with the consent of each.

The file: UTF-8 (a BOM is fine), at most MAX_FILE_BYTES and MAX_ROWS rows, a header row
naming columns from COLUMNS in any order (``email`` or ``phone`` at least):

- ``email``, ``phone`` (E.164, or national for ``country``, default US), ``first_name``,
  ``last_name``;
- ``email_consent``, ``sms_consent``, ``voice_consent``: yes or no (also y, true, 1, x /
  n, false, 0, empty);
- ``consent_text``: the words the person agreed to (required with any consent);
- ``consented_at``: when (YYYY-MM-DD, or an ISO 8601 time with its offset; empty: now).

All or nothing: every row is checked first, and any error (by line and column, line 1
being the header, at most MAX_ERRORS reported) imports nothing. Refused: a NUL or another
control character, bytes that are not UTF-8, a cell a spreadsheet would run as a formula
in a name or email (= + - @ first), an email already a lead or twice in the file.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time

from sqlalchemy.exc import IntegrityError

from storefront.extensions import db
from storefront.inputs import bad_character
from storefront.leads.intake import IMPORT, LeadInput, add_lead, check, existing_emails
from storefront.notifications.models import EMAIL, SMS, VOICE
from storefront.types import utcnow

MAX_FILE_BYTES = 1024 * 1024
MAX_ROWS = 5000
MAX_ERRORS = 100
COLUMNS = ("email", "phone", "first_name", "last_name", "email_consent", "sms_consent", "voice_consent",
           "consent_text", "consented_at")
CONSENT_COLUMNS = {"email_consent": EMAIL, "sms_consent": SMS, "voice_consent": VOICE}
YES = frozenset({"yes", "y", "true", "1", "x"})
NO = frozenset({"", "no", "n", "false", "0"})
# An input name of intake.check -> the column its error is shown under.
ERROR_COLUMNS = {"consent": "email_consent"}


@dataclass(frozen=True)
class CellError:
    """One problem: ``line`` (1: the header; 0: the file as a whole), ``column`` (1-based,
    0: the whole line) and its ``name``, and the ``message``."""

    line: int
    column: int
    name: str
    message: str


class LeadImportError(ValueError):
    """The file was refused; ``errors`` says where (at most MAX_ERRORS, in file order) and
    ``more`` how many were left out."""

    def __init__(self, errors: list[CellError], more: int = 0) -> None:
        super().__init__(errors[0].message if errors else "The file was refused.")
        self.errors, self.more = errors, more


@dataclass
class ImportResult:
    """What was imported: ``created`` leads, of which ``with_consent`` carry a consent."""

    created: int = 0
    with_consent: int = 0
    lead_ids: list[int] = field(default_factory=list)


def _whole(message: str) -> LeadImportError:
    return LeadImportError([CellError(0, 0, "", message)])


def _decode(raw: bytes) -> str:
    if len(raw) > MAX_FILE_BYTES:
        raise _whole(f"The file is too large: at most {MAX_FILE_BYTES // 1024} KB. Split it and import each part.")
    if not raw.strip():
        raise _whole("The file is empty.")
    nul = raw.find(b"\x00")
    if nul >= 0:
        raise LeadImportError([CellError(raw[:nul].count(b"\n") + 1, 0, "",
                                         "The line holds a NUL character: save the file again as CSV (UTF-8).")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LeadImportError([CellError(raw[:error.start].count(b"\n") + 1, 0, "",
                                         "The file is not UTF-8 text: save it again as CSV (UTF-8).")]) from error


def _consented_at(text: str) -> datetime | None:
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(), UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("Write a date as YYYY-MM-DD, or a time as 2025-06-01T09:30:00+00:00.") from None
    if moment.tzinfo is None:
        raise ValueError("Give the time's offset, like +00:00.")
    return moment.astimezone(UTC)


def _read_row(values: dict[str, str], line: int, columns: dict[str, int], now: datetime,
              country: str) -> tuple[LeadInput | None, list[CellError]]:
    errors: list[CellError] = []

    def fail(name: str, message: str) -> None:
        errors.append(CellError(line, columns.get(name, 0), name if name in columns else "", message))

    channels = []
    for column, channel in CONSENT_COLUMNS.items():
        word = values.get(column, "").strip().lower()
        if word in YES:
            channels.append(channel)
        elif word not in NO:
            fail(column, "Write yes or no.")
    try:
        given = _consented_at(values.get("consented_at", "").strip())
        if given is not None and given > now:
            fail("consented_at", "The consent can't be given in the future.")
    except ValueError as error:
        given = None
        fail("consented_at", str(error))
    data = LeadInput(email=values.get("email", ""), phone=values.get("phone", ""),
                     first_name=values.get("first_name", ""), last_name=values.get("last_name", ""),
                     channels=tuple(channels), consent_text=values.get("consent_text", ""), consented_at=given,
                     country=country)
    for name, message in check(data).errors.items():
        fail(ERROR_COLUMNS.get(name, name), message)
    return (None if errors else data), errors


def read_leads(raw: bytes, country: str = "US", now: datetime | None = None) -> list[tuple[int, LeadInput]]:
    """The rows of ``raw`` as (line, LeadInput), every one checked. Raises LeadImportError
    with the problems by line and column (see the module doc); reads no table."""
    now = now or utcnow()
    reader = csv.reader(io.StringIO(_decode(raw), newline=""), strict=True)
    errors: list[CellError] = []
    try:
        header = [name.strip().lower() for name in next(reader)]
    except (StopIteration, csv.Error):
        raise _whole("The file has no header row.") from None
    columns: dict[str, int] = {}
    for number, name in enumerate(header, start=1):
        if name not in COLUMNS:
            errors.append(CellError(1, number, name[:40], f"Unknown column {name[:40]!r}: use {', '.join(COLUMNS)}."))
        elif name in columns:
            errors.append(CellError(1, number, name, "This column appears twice."))
        else:
            columns[name] = number
    if "email" not in columns and "phone" not in columns:
        errors.append(CellError(1, 0, "", "The header needs an email or a phone column."))
    if errors:
        raise LeadImportError(errors)
    rows: list[tuple[int, LeadInput]] = []
    seen: dict[str, int] = {}
    count = 0
    try:
        for cells in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            count += 1
            if count > MAX_ROWS:
                raise LeadImportError([CellError(line, 0, "", f"Too many rows: at most {MAX_ROWS} per file. "
                                                             "Split it and import each part.")])
            if len(cells) != len(header):
                errors.append(CellError(line, 0, "", f"Expected {len(header)} cells, found {len(cells)}."))
                continue
            bad = [(n, cells[n - 1]) for name, n in columns.items()
                   if bad_character(cells[n - 1], multiline=name == "consent_text")]
            for number, cell in bad:
                errors.append(CellError(line, number, header[number - 1],
                                        f"The cell holds {bad_character(cell, multiline=True) or 'a control character'}."))
            if bad:
                continue
            data, problems = _read_row({name: cells[n - 1] for name, n in columns.items()}, line, columns, now,
                                       country)
            errors.extend(problems)
            if data is None:
                continue
            key = data.email.strip().lower()
            if key and key in seen:
                errors.append(CellError(line, columns["email"], "email", f"The same email as line {seen[key]}."))
                continue
            if key:
                seen[key] = line
            rows.append((line, data))
    except csv.Error as error:
        errors.append(CellError(reader.line_num, 0, "", f"The CSV is malformed: {error}."))
    if errors:
        raise LeadImportError(errors[:MAX_ERRORS], max(0, len(errors) - MAX_ERRORS))
    if not rows:
        raise _whole("The file has no lead in it, only the header.")
    return rows


def import_leads(company_id: int, raw: bytes, user_id: int | None, country: str = "US",
                 now: datetime | None = None) -> ImportResult:
    """Import the CSV ``raw`` as leads of ``company_id`` (source IMPORT, status NEW) with
    their consent, all or nothing: one commit. Raises LeadImportError (nothing imported),
    also when another import or a typed lead took one of its emails at the same moment."""
    now = now or utcnow()
    rows = read_leads(raw, country, now)
    checked = [(line, data, check(data)) for line, data in rows]
    taken = existing_emails(company_id, [c.email for _, _, c in checked if c.email])
    clashes = [CellError(line, 0, "email", f"{c.email} is already a lead (#{taken[c.email.lower()]}).")
               for line, _, c in checked if c.email and c.email.lower() in taken]
    if clashes:
        raise LeadImportError(clashes[:MAX_ERRORS], max(0, len(clashes) - MAX_ERRORS))
    result = ImportResult()
    try:
        for _line, data, ok in checked:
            lead = add_lead(company_id, data, ok, IMPORT, user_id, now, check_taken=False)
            result.created += 1
            result.with_consent += bool(data.channels)
            result.lead_ids.append(lead.id)
        db.session.commit()
    except IntegrityError as error:
        # The same file imported twice at once, or a lead typed meanwhile: the unique
        # (company, email) keeps one; this import adds nothing.
        db.session.rollback()
        raise _whole("Some of these leads were added while the file was imported: nothing was imported. "
                     "Upload it again to see which lines clash.") from error
    return result
