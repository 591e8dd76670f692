import os
import stat

import pytest

from iftkit.core.atomic import atomic_write, write_json_atomic, write_text_atomic


def test_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "sub" / "out.txt"
    write_text_atomic(p, "one\n")
    write_text_atomic(p, "two\n")
    assert p.read_text() == "two\n" and os.listdir(p.parent) == ["out.txt"]
    write_json_atomic(tmp_path / "d.json", {"b": 1, "a": 2}, sort_keys=True)
    assert (tmp_path / "d.json").read_text() == '{"a": 2, "b": 1}\n'


def test_a_failure_mid_write_keeps_the_old_content(tmp_path):
    p = tmp_path / "rows.jsonl"
    p.write_text("old\n")
    with pytest.raises(RuntimeError):
        with atomic_write(p) as f:
            f.write("half of the new")
            raise RuntimeError("disk full")
    assert p.read_text() == "old\n" and os.listdir(tmp_path) == ["rows.jsonl"]


def test_two_writers_in_flight_use_their_own_temp_files(tmp_path):
    p = tmp_path / "state.json"
    with atomic_write(p) as a, atomic_write(p) as b:
        assert a.name != b.name
        a.write("from a")
        b.write("from b")
    # the later rename wins; whatever wins is one whole file, and no temp is left
    assert p.read_text() == "from a" and os.listdir(tmp_path) == ["state.json"]


def test_binary_mode_and_normal_permissions(tmp_path):
    p = tmp_path / "chart.png"
    with atomic_write(p, "wb") as f:
        f.write(b"\x89PNG")
    plain = tmp_path / "plain"
    plain.write_bytes(b"")
    assert p.read_bytes() == b"\x89PNG"
    assert stat.S_IMODE(p.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
