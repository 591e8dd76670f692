"""A small key -> JSON store on SQLite: the one cache of model and judge calls.

SQLite commits are atomic, so a crash mid-run never leaves a half-written entry; WAL mode
lets a second process read while one writes. The cache is disposable: a file that is not a
readable SQLite database (damaged by hand, by a disk, by another tool) is moved aside with one
warning line and the run goes on with an empty cache.
"""

import json
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Optional


class JsonStore:
    def __init__(self, path, table: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.table = table
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            aside = self._move_aside()
            print(f"iftkit: warning: cache {self.path} is unreadable ({exc}); moved it to {aside} and started an empty one",
                  file=sys.stderr, flush=True)
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), timeout=60, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.commit()
            # a damaged page further in shows up on the first full read, not at open: look now
            bad = db.execute("PRAGMA quick_check(1)").fetchone()[0]
            if bad != "ok":
                raise sqlite3.DatabaseError(bad)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self) -> Path:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):  # journals of the damaged file belong to it, not to the new one
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                side.replace(aside.with_name(aside.name + suffix))
        return aside

    def get(self, key: str) -> Optional[dict]:
        with self._lock:
            row = self._db.execute(f"SELECT value FROM {self.table} WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i:i + 500]
                q = f"SELECT key, value FROM {self.table} WHERE key IN ({','.join('?' * len(chunk))})"
                out.update({k: json.loads(v) for k, v in self._db.execute(q, chunk)})
        return out

    def put_many(self, items: dict[str, dict]) -> None:
        with self._lock:
            self._db.executemany(
                f"INSERT OR REPLACE INTO {self.table} (key, value) VALUES (?, ?)",
                [(k, json.dumps(v, ensure_ascii=False)) for k, v in items.items()],
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()[0]

    def close(self) -> None:
        self._db.close()
