"""Declarations collected from a package's modules: every module's, in the order asked, a name twice refused."""

import importlib
import sys

import pytest

from iftkit.core.declared import collect
from iftkit.core.errors import IftkitError


def _package(tmp_path, monkeypatch, name: str, modules: dict):
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod, names in modules.items():
        decls = ", ".join(f"Decl({n!r})" for n in names)
        (pkg / f"{mod}.py").write_text(
            "from collections import namedtuple\nDecl = namedtuple('Decl', 'name')\n"
            + (f"THINGS = ({decls},)\n" if names else ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    return importlib.import_module(name)


def test_every_declaring_module_in_listing_order(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch, "decl_pkg_a", {"zeta": ["z"], "alpha": ["a1", "a2"], "plain": [],
                                                         "mid": ["m"]})
    assert list(collect(pkg, "THINGS", "thing")) == ["a1", "a2", "m", "z"]
    assert list(collect(pkg, "THINGS", "thing", first=("zeta", "mid"))) == ["z", "m", "a1", "a2"]


def test_a_name_declared_twice_is_refused_naming_the_second_file(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch, "decl_pkg_b", {"one": ["x"], "two": ["x"]})
    with pytest.raises(IftkitError, match=r"thing 'x' is declared twice \(decl_pkg_b/two\.py\)"):
        collect(pkg, "THINGS", "thing")
