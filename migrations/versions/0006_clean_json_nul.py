"""remove NUL characters and lone surrogates already stored in JSON columns

PostgreSQL's ``json`` keeps the ``\\u0000`` escape as text, but ``->>`` cannot turn it into
text: one such row breaks every ``->>`` over its table (the returning-shopper merge, the
abandonment statement). The input boundary now refuses these characters; this cleans what
a live database may already hold. Only rows that contain the escape are read and rewritten,
each value decoded, cleaned and encoded again, so other escapes are never touched.
Re-runnable: a clean database is left as it is.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00.000000

"""
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_BAD = {chr(0)} | {chr(code) for code in range(0xD800, 0xE000)}


def _clean(value):
    if isinstance(value, str):
        return "".join(ch for ch in value if ch not in _BAD)
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(key): _clean(item) for key, item in value.items()}
    return value


def _json_columns(bind) -> list[tuple[str, str]]:
    if bind.dialect.name == "postgresql":
        return [tuple(row) for row in bind.execute(sa.text(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND data_type = 'json' ORDER BY 1, 2"))]
    found = []
    tables = bind.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'")).scalars().all()
    for table in tables:
        for row in bind.execute(sa.text(f'PRAGMA table_info("{table}")')):
            if str(row[2]).upper() == "JSON":
                found.append((table, row[1]))
    return found


def upgrade():
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for table, column in _json_columns(bind):
        as_text = f'CAST("{column}" AS TEXT)'
        find = "strpos" if postgres else "instr"
        rows = bind.execute(sa.text(
            f'SELECT id, {as_text} FROM "{table}" '
            f"WHERE {find}({as_text}, :nul) > 0 OR {find}(lower({as_text}), :surrogate) > 0"
        ), {"nul": "\\u0000", "surrogate": "\\ud"}).all()
        for row_id, text in rows:
            cleaned = json.dumps(_clean(json.loads(text)))
            if cleaned != text:
                cast = "CAST(:value AS JSON)" if postgres else ":value"
                bind.execute(sa.text(f'UPDATE "{table}" SET "{column}" = {cast} WHERE id = :id'),
                             {"value": cleaned, "id": row_id})


def downgrade():
    # The removed characters were unusable; there is nothing to put back.
    pass
