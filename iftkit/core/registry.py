"""One registry per extension kind (scorers, chat backends, layouts, tasks): declarations found by name.

A declaration is any object with a `name` (a ScorerInfo, a BackendInfo, a Layout, a Task). A registry
finds them in three places, in this order:

1. In the package, by module: every module of the kind's package that defines the kind's attribute
   (`SCORERS = (...)`, `BACKENDS = (...)`, `LAYOUT = ...`, `TASKS = (...)`) declares what it holds, so
   adding one to iftkit is adding a file. Modules named in `first` come first, the rest alphabetically.
2. Plugins, by entry point: every entry point of the kind's group (`iftkit.scorers`, `iftkit.backends`,
   `iftkit.layouts`, `iftkit.tasks`) in any installed distribution. Its value names either
   - a module (`my_pkg.scorers`, no colon): the module is read exactly as an in-package one, by the
     kind's attribute; or
   - an object (`my_pkg.scorers:SCORERS`): one declaration, or a tuple/list of them.
   The entry point's own name is a label for messages; the names recipes use are the declarations'.
   Plugins come after the package, ordered by distribution then entry-point name.
3. `register(decl)` at run time (tests, notebooks); `unregister(name)` undoes it.

A name declared twice, anywhere, is an IftkitError naming both places; so is a plugin that fails to
import (naming the entry point and its distribution) or that names something other than a declaration.
Discovery runs once per process, on first use; `Registry.reload_all()` forgets what was found (a test
that installs a plugin calls it before and after).
"""

import importlib
import pkgutil
from importlib.metadata import EntryPoint, entry_points
from typing import Optional

from iftkit.core.errors import IftkitError


class Registry:
    _every: list = []  # every registry made, for reload_all

    def __init__(self, kind: str, package: str, attr: str, group: str, expects: Optional[type] = None,
                 first: tuple = ()):
        # kind names the thing in messages ("scorer"); package is imported on first use, not here, so a
        # registry can live inside the package it searches
        self.kind, self.package, self.attr, self.group = kind, package, attr, group
        self.expects, self.first = expects, first
        self._found: Optional[dict] = None  # name -> (declaration, where it was declared), by discovery
        self._registered: dict = {}  # the same, by register()
        self._view: Optional[tuple] = None  # both, then {name: declaration}: lookups run in loops over records
        self._shipped: tuple = ()
        self._collecting = False
        Registry._every.append(self)

    # --- lookups ---------------------------------------------------------------------------------------

    def all(self) -> dict:
        """{name: declaration}: the package's, then plugins', then registered ones (do not change it)."""
        if self._view is None:
            entries = self._entries()
            self._view = (entries, {name: decl for name, (decl, _) in entries.items()})
        return self._view[1]

    def names(self) -> tuple:
        return tuple(self.all())

    def shipped(self) -> tuple:
        """The names iftkit's own package declares (no plugin's, none registered)."""
        self.all()
        return self._shipped

    def where(self, name: str) -> Optional[str]:
        """Where `name` was declared (a file, an entry point, register()), or None."""
        self.all()
        found = self._view[0].get(name)
        return found[1] if found else None

    # --- changes -----------------------------------------------------------------------------------------

    def register(self, decl, where: str = "register()") -> None:
        self._check(decl, where)
        before = self.where(decl.name)
        if before is not None:
            raise IftkitError(f"{self.kind} {decl.name!r} is already registered ({before}); {where} declares it again")
        self._registered[decl.name] = (decl, where)
        self._view = None

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)
        self._view = None

    def reload(self) -> None:
        """Forget what discovery found (registered declarations stay)."""
        self._found = self._view = None

    @classmethod
    def reload_all(cls) -> None:
        importlib.invalidate_caches()  # a distribution installed since start-up must be seen
        for reg in cls._every:
            reg.reload()

    # --- discovery ---------------------------------------------------------------------------------------

    def _entries(self) -> dict:
        if self._found is None:
            if self._collecting:  # else a module that looks its kind up while being imported recurses forever
                raise IftkitError(f"the {self.kind}s were looked up while being collected: a module declaring "
                                  f"{self.attr} must not ask for them when it is imported")
            self._collecting, found = True, {}
            try:
                self._from_package(found)
                self._shipped = tuple(found)
                self._from_plugins(found)
            finally:
                self._collecting = False
            self._found = found
        out = dict(self._found)
        for entry in self._registered.values():
            self._add(out, *entry)
        return out

    def _from_package(self, found: dict) -> None:
        pkg = importlib.import_module(self.package)
        mods = sorted((m.name for m in pkgutil.iter_modules(pkg.__path__)),
                      key=lambda m: (self.first.index(m) if m in self.first else len(self.first), m))
        for mod in mods:
            module = importlib.import_module(f"{self.package}.{mod}")
            where = f"{self.package.replace('.', '/')}/{mod}.py"
            for decl in _as_tuple(getattr(module, self.attr, ())):
                self._check(decl, where)
                self._add(found, decl, where)

    def _from_plugins(self, found: dict) -> None:
        for ep in sorted(entry_points(group=self.group), key=lambda e: (_dist(e), e.name)):
            where = f"entry point {ep.name!r} ({self.group}) of distribution {_dist(ep)}"
            for decl in self._load(ep, where):
                self._check(decl, where)
                self._add(found, decl, where)

    def _load(self, ep: EntryPoint, where: str) -> tuple:
        try:
            obj = ep.load()
        except Exception as exc:  # a plugin's own bug or a missing dependency: say whose, in one line
            raise IftkitError(f"{where} = {ep.value!r} failed to import: {type(exc).__name__}: {exc}") from exc
        if ep.attr:  # `module:object` names the declarations themselves
            return _as_tuple(obj)
        if not hasattr(obj, self.attr):
            raise IftkitError(f"{where} names module {ep.value!r}, which defines no {self.attr} "
                              f"(name the module of a {self.kind}, or module:object)")
        return _as_tuple(getattr(obj, self.attr))

    def _check(self, decl, where: str) -> None:
        if self.expects is not None and not isinstance(decl, self.expects):
            raise IftkitError(f"{where}: declares {decl!r}, not a {self.kind} (expected a {self.expects.__name__})")
        if not isinstance(getattr(decl, "name", None), str) or not decl.name:
            raise IftkitError(f"{where}: declares {decl!r}, which has no text `name`")

    def _add(self, found: dict, decl, where: str) -> None:
        if decl.name in found:
            raise IftkitError(f"{self.kind} {decl.name!r} is declared twice ({found[decl.name][1]} and {where})")
        found[decl.name] = (decl, where)


def _as_tuple(value) -> tuple:
    """One declaration or a tuple/list of them; a declaration that is itself a tuple (a namedtuple) is one."""
    return tuple(value) if isinstance(value, (tuple, list)) and not hasattr(value, "name") else (value,)


def _dist(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else "(unknown distribution)"
