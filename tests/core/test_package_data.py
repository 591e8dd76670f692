import pytest

from iftkit.core.errors import IftkitError
from iftkit.core.package_data import package_path


def _package(tmp_path, monkeypatch, name="shipsdata"):
    pkg = tmp_path / name
    (pkg / "data").mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('importing runs code a data file does not need')\n")
    (pkg / "data" / "rows.jsonl").write_text("{}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return pkg


def test_a_packages_file_is_found_without_importing_the_package(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch)
    assert package_path("shipsdata", "data/rows.jsonl", "needs shipsdata") == pkg / "data" / "rows.jsonl"
    assert package_path("shipsdata", "data", "needs shipsdata", check="rows.jsonl") == pkg / "data"


def test_a_missing_package_or_file_is_one_line_saying_what_needs_it(tmp_path, monkeypatch):
    _package(tmp_path, monkeypatch)
    with pytest.raises(IftkitError, match="^the x suite needs `pip install nope`$"):
        package_path("nope_not_installed", "data/rows.jsonl", "the x suite needs `pip install nope`")
    with pytest.raises(IftkitError, match=r"other\.jsonl is missing or incomplete: reinstall the package \(needs"):
        package_path("shipsdata", "data/other.jsonl", "needs shipsdata")
    with pytest.raises(IftkitError, match="missing or incomplete"):
        package_path("shipsdata", "data", "needs shipsdata", check="modules.json")
