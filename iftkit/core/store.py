"""A small key -> JSON store: the one cache of model, judge and teacher calls.

On a local disk it is one SQLite file: commits are atomic, so a crash mid-run never leaves a
half-written entry, and WAL mode lets a second process read while one writes. SQLite's WAL
needs shared memory between its processes and its locks are unreliable over network
filesystems, so where the cache sits on NFS, Lustre, GPFS, CIFS... (read from /proc/mounts,
or forced with IFTKIT_CACHE_SHARED=1) the same store keeps one file per entry instead, named
by the hash of its key and written under a unique temp name then renamed into place: any
number of writers on any number of nodes, no locks, and a reader sees a whole entry or none.

The cache is disposable: a SQLite file that is not a readable database (damaged by hand, by a
disk, by another tool) is moved aside with one warning line and the run goes on with an empty
cache (a file another process holds locked is waited for, never taken for damage); a damaged
entry file is a miss, rewritten by the next answer.
"""

import hashlib
import json
import os
import re
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Optional

from iftkit.core.atomic import write_json_atomic
from iftkit.core.errors import IftkitError

# filesystem types (as /proc/mounts names them) whose files are shared between machines
NETWORK_FILESYSTEMS = {
    "nfs",
    "nfs4",
    "lustre",
    "gpfs",
    "beegfs",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "cephfs",
    "glusterfs",
    "panfs",
    "pvfs2",
    "orangefs",
    "gfs2",
    "ocfs2",
    "afs",
    "9p",
    "wekafs",
    "virtiofs",
}
SHARED_ENV = "IFTKIT_CACHE_SHARED"


def filesystem_type(path, mounts: Optional[str] = None) -> str:
    """The type of the filesystem holding path ('' when unknown), from the longest matching mount point."""
    if mounts is None:
        try:
            mounts = Path("/proc/mounts").read_text()
        except OSError:
            return ""
    path = os.path.realpath(path)  # a symlinked ~/.cache lives where it points
    best, fstype = "", ""
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[1])  # a space is written \040
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, fstype = point, fields[2]
    return fstype


def on_shared_filesystem(path) -> bool:
    forced = os.environ.get(SHARED_ENV, "").strip().lower()
    if forced in ("1", "true", "yes"):
        return True
    if forced in ("0", "false", "no"):
        return False
    fstype = filesystem_type(path)
    # FUSE mounts (sshfs, s3fs, gcsfuse, juicefs...) are shared storage unless they are a container's overlay
    return fstype in NETWORK_FILESYSTEMS or (fstype.startswith("fuse.") and "overlay" not in fstype)


class JsonStore:
    """`get` / `get_many` / `put_many` / `len` over whichever layout suits the folder the path is in."""

    def __init__(self, path, table: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.table = table
        if on_shared_filesystem(self.path.parent):
            self._impl = EntryFiles(self.path.with_name(f"{self.path.stem}.entries"))
        else:
            self._impl = SqliteStore(self.path, table)

    @property
    def layout(self) -> str:
        return "files" if isinstance(self._impl, EntryFiles) else "sqlite"

    def get(self, key: str) -> Optional[dict]:
        return self._impl.get_many([key]).get(key)

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        return self._impl.get_many(keys)

    def put_many(self, items: dict[str, dict]) -> None:
        self._impl.put_many(items)

    def __len__(self) -> int:
        return len(self._impl)

    def close(self) -> None:
        self._impl.close()


class EntryFiles:
    """One JSON file per entry, `<folder>/<h[:2]>/<h>.json` with h the sha256 of the key."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        h = hashlib.sha256(key.encode()).hexdigest()
        return self.folder / h[:2] / f"{h}.json"

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        out = {}
        for key in keys:
            try:
                out[key] = json.loads(self._file(key).read_text(encoding="utf-8"))
            except (FileNotFoundError, ValueError):
                continue
        return out

    def put_many(self, items: dict[str, dict]) -> None:
        for key, value in items.items():
            write_json_atomic(self._file(key), value, ensure_ascii=False)

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*/*.json"))

    def close(self) -> None:
        pass


OPEN_WAIT_S = 60


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return any(word in str(exc) for word in ("database is locked", "database is busy"))


class SqliteStore:
    def __init__(self, path: Path, table: str):
        self.path, self.table = path, table
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as exc:
            aside = self._move_aside()
            print(
                f"iftkit: warning: cache {self.path} is unreadable "
                f"({exc}); moved it to {aside} and started an empty one",
                file=sys.stderr,
                flush=True,
            )
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        # a file another process holds (switching it to WAL, creating the table) is in use, not
        # damaged: SQLite can answer "database is locked" there without waiting, so wait here
        deadline = time.monotonic() + OPEN_WAIT_S
        while True:
            try:
                return self._try_open()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc):
                    raise
                if time.monotonic() > deadline:
                    raise IftkitError(
                        f"cache {self.path} stayed locked by another process for {OPEN_WAIT_S} s ({exc})"
                    ) from None
                time.sleep(0.05)

    def _try_open(self) -> sqlite3.Connection:
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

    def get_many(self, keys: list[str]) -> dict[str, dict]:
        out = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
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
