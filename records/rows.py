"""Turning rows into records: one helper every part of the store uses."""
from __future__ import annotations

import dataclasses
import json
from typing import Iterable, TypeVar

T = TypeVar("T")
_FIELDS: dict[type, tuple[str, ...]] = {}


def record(cls: type[T], row: dict, **convert) -> T:
    """`cls` built from the row's columns of the same names (missing ones take their defaults)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    values = {name: row[name] for name in names if name in row}
    for name, function in convert.items():
        if values.get(name) is not None:
            values[name] = function(values[name])
    return cls(**values)


def records(cls: type[T], rows: Iterable[dict], **convert) -> list[T]:
    return [record(cls, row, **convert) for row in rows]


def dict_rows(cursor) -> list[dict]:
    """The rows a read returned, as {column: value}: sqlite-utils' `query` wraps each read in a
    savepoint, two statements more, which the crawl's reads of every account need not pay."""
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def loads(text: str | None):
    return json.loads(text) if text else None


def placeholders(values) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def chunks(values: list, size: int = 500):
    """SQLite limits bound parameters per statement: IN lists go in chunks."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


# Writing rows: plain statements (sqlite-utils' table helpers look the schema up on every call,
# which was a third of a crawl's statements). Table and column names come from this package only.

def insert(db, table: str, values: dict, conflict: str = "") -> int:
    """INSERT one row (`conflict`: "" or "IGNORE"); return its rowid."""
    sql = (f"INSERT {'OR ' + conflict + ' ' if conflict else ''}INTO {table} ({', '.join(values)}) "
           f"VALUES ({placeholders(values)})")
    return db.execute(sql, list(values.values())).lastrowid


def upsert(db, table: str, key: str, values: dict) -> None:
    """INSERT one row, or update the row with the same `key` column."""
    changes = ", ".join(f"{column} = excluded.{column}" for column in values if column != key)
    db.execute(f"INSERT INTO {table} ({', '.join(values)}) VALUES ({placeholders(values)}) "
               f"ON CONFLICT({key}) DO UPDATE SET {changes}", list(values.values()))


def update(db, table: str, key: str, key_value, values: dict) -> None:
    db.execute(f"UPDATE {table} SET {', '.join(f'{column} = ?' for column in values)} WHERE {key} = ?",
               [*values.values(), key_value])


def insert_many(db, table: str, rows: list[dict]) -> None:
    """INSERT rows that all have the columns of the first, in one statement run over them."""
    if rows:
        db.conn.executemany(f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES ({placeholders(rows[0])})",
                            [list(row.values()) for row in rows])


def update_many(db, table: str, key: str, rows: list[dict]) -> None:
    """UPDATE the row whose `key` column matches, for each of `rows` (all with the columns of the first)."""
    if rows:
        columns = [column for column in rows[0] if column != key]
        db.conn.executemany(f"UPDATE {table} SET {', '.join(f'{column} = ?' for column in columns)} WHERE {key} = ?",
                            [[*(row[column] for column in columns), row[key]] for row in rows])
