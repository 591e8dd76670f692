"""One Registry for every extension kind: declarations found in the package's modules (listing order),
in installed distributions' entry points (a module or an object), and by register(); a name twice,
a plugin that fails to import and a plugin naming the wrong thing are one-line IftkitErrors."""

import importlib
import sys
import textwrap
from collections import namedtuple

import pytest

from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry

Decl = namedtuple("Decl", "name")
GROUP = "iftkit.test_things"
DECL = "from collections import namedtuple\nDecl = namedtuple('Decl', 'name')\n"


def _package(tmp_path, monkeypatch, name: str, modules: dict):
    pkg = tmp_path / name
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for mod, names in modules.items():
        decls = ", ".join(f"Decl({n!r})" for n in names)
        (pkg / f"{mod}.py").write_text(DECL + (f"THINGS = ({decls},)\n" if names else ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    importlib.import_module(name)
    return name


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on sys.path where distributions are written as pip writes them (*.dist-info with METADATA and
    entry_points.txt); monkeypatch takes it off sys.path afterwards, and this fixture every module imported
    from it and what the registries found."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    Registry.reload_all()
    yield folder
    for name, mod in list(sys.modules.items()):
        if str(getattr(mod, "__file__", None) or "").startswith(str(folder)):
            del sys.modules[name]
    Registry.reload_all()


def install(site, dist: str, entry_points: dict, modules: dict) -> None:
    """Distribution `dist` 0.1: entry_points {group: {name: value}}, modules {module name: source}."""
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"  # pip's folder name: the name up to the first '-'
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("".join(
        f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items()) + "\n"
        for group, eps in entry_points.items()))
    for mod, source in modules.items():
        (site / f"{mod}.py").write_text(textwrap.dedent(source))
    Registry.reload_all()


def test_package_declarations_come_in_listing_order(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_a", {"zeta": ["z"], "alpha": ["a1", "a2"], "plain": [],
                                                         "mid": ["m"]})
    assert Registry("thing", pkg, "THINGS", GROUP).names() == ("a1", "a2", "m", "z")
    ordered = Registry("thing", pkg, "THINGS", GROUP, first=("zeta", "mid"))
    assert ordered.names() == ("z", "m", "a1", "a2") and ordered.where("m") == "reg_pkg_a/mid.py"


def test_a_name_declared_twice_in_the_package_names_both_files(tmp_path, monkeypatch):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_b", {"one": ["x"], "two": ["x"]})
    with pytest.raises(IftkitError, match=r"^thing 'x' is declared twice \(reg_pkg_b/one\.py and reg_pkg_b/two\.py\)$"):
        Registry("thing", pkg, "THINGS", GROUP).names()


def test_plugins_name_a_module_or_an_object_and_follow_the_package(tmp_path, monkeypatch, site):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_c", {"own": ["own"]})
    install(site, "plug-b", {GROUP: {"by_module": "plug_b_mod"}}, {"plug_b_mod": DECL + "THINGS = (Decl('b1'),)"})
    install(site, "plug-a", {GROUP: {"by_object": "plug_a_mod:ONE", "several": "plug_a_mod:MORE"}},
            {"plug_a_mod": DECL + "ONE = Decl('a1')\nMORE = [Decl('a2'), Decl('a3')]"})
    reg = Registry("thing", pkg, "THINGS", GROUP)
    assert reg.names() == ("own", "a1", "a2", "a3", "b1")  # the package's, then by distribution, entry point
    assert reg.shipped() == ("own",)
    assert reg.where("b1") == f"entry point 'by_module' ({GROUP}) of distribution plug-b 0.1"


def test_a_plugin_reusing_a_name_names_both_places(tmp_path, monkeypatch, site):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_d", {"own": ["x"]})
    install(site, "plug-dup", {GROUP: {"dup": "plug_dup:X"}}, {"plug_dup": DECL + "X = Decl('x')"})
    with pytest.raises(IftkitError, match=r"^thing 'x' is declared twice \(reg_pkg_d/own\.py and entry point 'dup' "
                                          rf"\({GROUP}\) of distribution plug-dup 0\.1\)$"):
        Registry("thing", pkg, "THINGS", GROUP).names()


@pytest.mark.parametrize("value, source, message", [
    ("plug_broken", "import not_installed_anywhere\n",
     r"^entry point 'broken' \(iftkit\.test_things\) of distribution plug-broken 0\.1 = 'plug_broken' failed to "
     r"import: ModuleNotFoundError: No module named 'not_installed_anywhere'$"),
    ("plug_broken", "OTHER = 1\n",
     r"names module 'plug_broken', which defines no THINGS \(name the module of a thing, or module:object\)$"),
    ("plug_broken:OTHER", "OTHER = 'text'\n",
     r"of distribution plug-broken 0\.1: declares 'text', not a thing \(expected a tuple\)$"),
])
def test_a_broken_plugin_is_one_line_naming_its_entry_point_and_distribution(tmp_path, monkeypatch, site, value,
                                                                            source, message):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_e", {"own": ["own"]})
    install(site, "plug-broken", {GROUP: {"broken": value}}, {"plug_broken": source})
    with pytest.raises(IftkitError, match=message):
        Registry("thing", pkg, "THINGS", GROUP, expects=tuple).names()  # every Decl class is a tuple


def test_register_refuses_a_known_name_and_unregister_undoes_it(tmp_path, monkeypatch):
    reg = Registry("thing", _package(tmp_path, monkeypatch, "reg_pkg_f", {"own": ["own"]}), "THINGS", GROUP)
    with pytest.raises(IftkitError, match=r"^thing 'own' is already registered \(reg_pkg_f/own\.py\); a test "
                                          r"declares it again$"):
        reg.register(Decl("own"), where="a test")
    reg.register(Decl("extra"))
    assert reg.names() == ("own", "extra") and reg.where("extra") == "register()"
    reg.reload()  # what was registered outlives a reload
    assert reg.names() == ("own", "extra")
    reg.unregister("extra")
    assert reg.names() == ("own",) and reg.where("extra") is None


PLUGIN_OF_EVERY_KIND = """
from iftkit.data.tasks.base import Instance, Task
from iftkit.evaluation.scorers.lexical import ExactMatch
from iftkit.evaluation.scorers.registry import ScorerInfo
from iftkit.layouts.base import Layout, text
from iftkit.models.chat.registry import BackendInfo

SCORERS = (ScorerInfo("plug_scorer", ExactMatch, "a plugin's scorer"),)
BACKENDS = (BackendInfo("plug_backend", lambda model: None, "a plugin's backend"),)
LAYOUT = Layout("plug_layout", "fields 'q' and 'a'", (("q",), ("a",)),
                lambda rec: ([{"role": "user", "content": text(rec, "q")}], text(rec, "a")))


class Echo(Task):
    name = "plug_echo"
    category = "rewrite"
    phrasings = ("Repeat: {word}",)

    def make(self, rng, difficulty):
        word = rng.choice(["alpha", "beta", "gamma"])
        return Instance({"word": word}, word, word, word)


TASKS = (Echo(),)
"""


def test_every_kind_takes_plugins_by_entry_point_and_forgets_them_when_uninstalled(site):
    from iftkit import layouts
    from iftkit.data.tasks import get_task, list_tasks, shipped_tasks
    from iftkit.evaluation.scorers import expand, list_scorers
    from iftkit.models.chat.registry import backend_info

    shipped = (list_scorers(), layouts.names(), list_tasks())
    install(site, "iftkit-plug-every", {g: {"every": "plug_every"} for g in
                                        ("iftkit.scorers", "iftkit.backends", "iftkit.layouts", "iftkit.tasks")},
            {"plug_every": PLUGIN_OF_EVERY_KIND})
    assert expand(["plug_scorer"]) == ["plug_scorer"] and list_scorers()[-1] == "plug_scorer"
    assert backend_info("plug_backend").description == "a plugin's backend"
    assert layouts.names()[-1] == "plug_layout" and layouts.detect(["q", "a"]).name == "plug_layout"
    assert list_tasks()[-1] == "plug_echo" and [r.completion for r in get_task("plug_echo").generate(2, seed=0)]
    assert "plug_echo" not in shipped_tasks()  # "all" general tasks: installing a plugin changes no mix
    sys.path.remove(str(site))
    Registry.reload_all()
    assert (list_scorers(), layouts.names(), list_tasks()) == shipped


def test_a_plugin_layout_may_not_be_called_auto(site):
    from iftkit import layouts

    install(site, "plug-auto", {"iftkit.layouts": {"auto": "plug_auto:LAYOUT"}},
            {"plug_auto": "from iftkit.layouts.base import Layout\nLAYOUT = Layout('auto', 'x', (('x',),), None)\n"})
    with pytest.raises(IftkitError, match=r"^layout name 'auto' is reserved \(entry point 'auto' \(iftkit\.layouts\) "
                                          r"of distribution plug-auto 0\.1\)$"):
        layouts.names()


def test_a_plugin_asking_for_its_kind_while_imported_is_told_so(tmp_path, monkeypatch, site):
    pkg = _package(tmp_path, monkeypatch, "reg_pkg_g", {"own": ["own"]})
    install(site, "plug-eager", {GROUP: {"eager": "plug_eager"}},
            {"plug_eager": DECL + "import reg_pkg_g\nreg_pkg_g.REGISTRY.names()\nTHINGS = (Decl('e'),)\n"})
    reg = Registry("thing", pkg, "THINGS", GROUP)
    sys.modules[pkg].REGISTRY = reg
    with pytest.raises(IftkitError, match=r"failed to import: IftkitError: the things were looked up while being "
                                          r"collected: a module declaring THINGS must not ask for them"):
        reg.names()


def test_the_shipped_catalog_keeps_the_order_default_mixes_draw_in():
    """Each family module declares its TASKS; the listing order puts them back in the order of the old hand-written
    tuple, which `data.general_tasks: all` follows (so every default mix, and its cache key, stays the same)."""
    from iftkit.data.tasks import list_tasks, shipped_tasks

    assert shipped_tasks() == list_tasks() == [
        "sentiment", "topic", "extract_emails", "extract_date", "extract_amount", "ticket_json", "entity_tags",
        "change_case", "reverse_words", "arithmetic", "compare_logic", "code_output", "context_qa", "headline",
        "sort_items", "count_items", "list_items", "constrained_sentence", "translate_words", "fact_qa"]
