"""Declarations a package's modules make about themselves, collected by name.

An extension point (scorers, chat backends) lets each of its modules end with a tuple of
declarations (`SCORERS = (...)`, `BACKENDS = (...)`), each with a `name`; the point's registry
collects them here, so adding one is adding a file.
"""

import importlib
import pkgutil
from types import ModuleType

from iftkit.core.errors import IftkitError


def collect(package: ModuleType, attr: str, what: str, first: tuple = ()) -> dict:
    """{name: declaration} from every module of `package` that declares `attr`; modules named in
    `first` come first, in that order, the rest alphabetically."""
    mods = sorted((m.name for m in pkgutil.iter_modules(package.__path__)),
                  key=lambda m: (first.index(m) if m in first else len(first), m))
    found: dict = {}
    for mod in mods:
        for decl in getattr(importlib.import_module(f"{package.__name__}.{mod}"), attr, ()):
            if decl.name in found:
                where = f"{package.__name__}.{mod}".replace(".", "/")
                raise IftkitError(f"{what} {decl.name!r} is declared twice ({where}.py)")
            found[decl.name] = decl
    return found
