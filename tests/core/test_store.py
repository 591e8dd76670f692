"""The cache store: SQLite on local disks, one file per entry on network filesystems, many writers either way."""

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from iftkit.core import store as store_module
from iftkit.core.errors import IftkitError
from iftkit.core.store import JsonStore, filesystem_type, on_shared_filesystem

ROOT = Path(__file__).resolve().parents[2]

MOUNTS = """\
/dev/vda / ext4 rw,relatime 0 0
server:/export/home /home nfs4 rw,vers=4.2 0 0
10.0.0.1@tcp:/scratch /scratch lustre rw,flock 0 0
/dev/nvme0n1 /scratch/local ext4 rw 0 0
server:/export/my\\040data /mnt/my\\040data nfs rw 0 0
"""


@pytest.mark.parametrize("path, fstype", [
    ("/home/ana/.cache/iftkit", "nfs4"),
    ("/scratch/ana/cache", "lustre"),
    ("/scratch/local/cache", "ext4"),   # the deeper mount point wins
    ("/scratchy", "ext4"),              # a prefix of a name is not a parent folder
    ("/mnt/my data/cache", "nfs"),      # /proc/mounts writes spaces as \040
    ("/tmp", "ext4"),
])
def test_filesystem_type_reads_the_longest_mount_point(path, fstype):
    assert filesystem_type(path, MOUNTS) == fstype


def test_shared_filesystems_are_detected_and_can_be_forced(monkeypatch, tmp_path):
    monkeypatch.delenv(store_module.SHARED_ENV, raising=False)
    for fstype, shared in (("nfs4", True), ("lustre", True), ("gpfs", True), ("fuse.sshfs", True),
                           ("ext4", False), ("xfs", False), ("tmpfs", False), ("fuse.fuse-overlayfs", False)):
        monkeypatch.setattr(store_module, "filesystem_type", lambda path, t=fstype: t)
        assert on_shared_filesystem(tmp_path) is shared, fstype
    monkeypatch.setenv(store_module.SHARED_ENV, "1")
    assert on_shared_filesystem(tmp_path) is True
    monkeypatch.setattr(store_module, "filesystem_type", lambda path: "nfs")
    monkeypatch.setenv(store_module.SHARED_ENV, "0")
    assert on_shared_filesystem(tmp_path) is False


def test_on_a_network_filesystem_entries_are_files_and_a_damaged_one_is_a_miss(monkeypatch, tmp_path):
    monkeypatch.setattr(store_module, "filesystem_type", lambda path: "nfs4")
    store = JsonStore(tmp_path / "generations.sqlite", "generations")
    assert store.layout == "files"
    store.put_many({"k1": {"text": "héllo"}, "k2": {"text": "b"}})
    assert store.get_many(["k1", "k2", "k3"]) == {"k1": {"text": "héllo"}, "k2": {"text": "b"}}
    assert len(store) == 2 and not (tmp_path / "generations.sqlite").exists()
    entry = next((tmp_path / "generations.entries").glob("*/*.json"))
    entry.write_text('{"text": "cut sho')
    assert len(JsonStore(tmp_path / "generations.sqlite", "generations").get_many(["k1", "k2"])) == 1
    store.put_many({"k1": {"text": "héllo"}, "k2": {"text": "b"}})
    assert store.get("k1") == {"text": "héllo"} and store.get("k2") == {"text": "b"}


WRITER = """
import sys
from iftkit.core.store import JsonStore
store = JsonStore(sys.argv[1], "generations")
me = int(sys.argv[2])
for i in range(150):
    store.put_many({f"shared-{i}": {"i": i}, f"own-{me}-{i}": {"by": me, "i": i}})
    assert store.get(f"shared-{i}") == {"i": i}
store.close()
"""


@pytest.mark.parametrize("shared", ["1", "0"])
def test_several_writer_processes_at_once_lose_nothing(tmp_path, monkeypatch, shared):
    path = tmp_path / "cache" / "generations.sqlite"
    monkeypatch.setenv(store_module.SHARED_ENV, shared)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(me)], cwd=ROOT) for me in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0]
    store = JsonStore(path, "generations")
    keys = [f"shared-{i}" for i in range(150)] + [f"own-{me}-{i}" for me in range(4) for i in range(150)]
    got = store.get_many(keys)
    assert len(got) == len(keys) == len(store)
    assert got["own-3-149"] == {"by": 3, "i": 149} and got["shared-7"] == {"i": 7}
    assert store.layout == {"1": "files", "0": "sqlite"}[shared]
    assert not list(path.parent.rglob("*.tmp"))


def _locked_at_first(monkeypatch, times: int):
    """sqlite3.connect answers "database is locked" `times` times (as during another process's open), then opens."""
    real, calls = sqlite3.connect, []

    def connect(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise sqlite3.OperationalError("database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(store_module.sqlite3, "connect", connect)
    return calls


def test_a_locked_cache_is_waited_for_not_moved_aside(tmp_path, monkeypatch):
    monkeypatch.setenv(store_module.SHARED_ENV, "0")
    path = tmp_path / "generations.sqlite"
    JsonStore(path, "generations").put_many({"k": {"text": "kept"}})
    calls = _locked_at_first(monkeypatch, times=3)
    store = JsonStore(path, "generations")
    assert len(calls) == 4 and store.get("k") == {"text": "kept"}
    assert not list(tmp_path.glob("*.corrupt-*"))


def test_a_cache_locked_too_long_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv(store_module.SHARED_ENV, "0")
    monkeypatch.setattr(store_module, "OPEN_WAIT_S", 0.1)
    path = tmp_path / "generations.sqlite"
    JsonStore(path, "generations").put_many({"k": {"text": "kept"}})
    _locked_at_first(monkeypatch, times=10**6)
    with pytest.raises(IftkitError, match="stayed locked by another process"):
        JsonStore(path, "generations")
    assert path.is_file() and not list(tmp_path.glob("*.corrupt-*"))
