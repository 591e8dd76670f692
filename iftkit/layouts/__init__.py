"""Record layouts of user data files (`data.file_format`), one module each, and the recipe's column mapping.

Every module of this package that ends with `LAYOUT = Layout(...)` (see base.py) is a layout: the
registry (core/registry.py) collects them, so adding a layout is adding one file here, or one entry
point in group `iftkit.layouts` outside iftkit. A file's layout is detected
from its first record (or a table's header) unless `data.file_format` names one. A file in no
layout is read through a ColumnMap (columns.py) built from `data.columns` / `data.prompt_template`.
"""

from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.registry import Registry
from iftkit.layouts.base import Layout
from iftkit.layouts.columns import COLUMN_ROLES, ColumnMap, label_key, template_fields

# the order layouts are listed in (errors, help); a new module sorts after these
_LISTING_ORDER = ("alpaca", "messages", "sharegpt", "prompt_completion")
# a record may hold several layouts' fields (a messages list beside instruction/output): the first
# layout here that fits wins, then any other in listing order
_DETECTION_ORDER = ("messages", "sharegpt", "alpaca", "prompt_completion")


LAYOUT_REGISTRY = Registry("layout", __name__, "LAYOUT", "iftkit.layouts", Layout, first=_LISTING_ORDER)


def registry() -> dict:
    """Layout name -> Layout, in listing order (plugins' after iftkit's)."""
    found = LAYOUT_REGISTRY.all()
    if "auto" in found:  # data.file_format's "detect it" value
        raise IftkitError(f"layout name 'auto' is reserved ({LAYOUT_REGISTRY.where('auto')})")
    return found


def register(layout: Layout) -> None:
    LAYOUT_REGISTRY.register(layout)


def unregister(name: str) -> None:
    LAYOUT_REGISTRY.unregister(name)


def names() -> tuple:
    return tuple(registry())


def get(name: str) -> Layout:
    reg = registry()
    if name not in reg:
        raise IftkitError(f"unknown data format {name!r} (known: auto, {', '.join(reg)})")
    return reg[name]


def detect(keys) -> Optional[Layout]:
    """The layout a record (or a table header) with these keys is in; None if it fits none."""
    reg = registry()
    order = [n for n in _DETECTION_ORDER if n in reg] + [n for n in reg if n not in _DETECTION_ORDER]
    return next((reg[n] for n in order if reg[n].fits(keys)), None)


def expected_text() -> str:
    """What each layout's records hold, for an error that found none of them."""
    return "; ".join(layout.expected for layout in registry().values())


def help_text() -> str:
    return ", ".join(f"{layout.name} ({layout.expected})" for layout in registry().values())


def check_header(header: list[str], fmt: str, where: str) -> None:
    """Name a table's missing layout columns from its header, before reading any row."""
    layout = get(fmt) if fmt != "auto" else detect(header)
    if layout is None:
        raise IftkitError(
            f"{where}: cannot tell the schema from columns {sorted(set(header))}; expected one of: "
            + expected_text()
            + " (or map columns with data.columns)"
        )
    missing = layout.missing(header)
    if missing:
        raise IftkitError(
            f"{where}: missing column(s) {', '.join(repr(m) for m in missing)} for the {layout.name} "
            f"schema (columns: {', '.join(header)})"
        )


__all__ = [
    "COLUMN_ROLES",
    "ColumnMap",
    "Layout",
    "check_header",
    "detect",
    "expected_text",
    "get",
    "help_text",
    "label_key",
    "names",
    "register",
    "registry",
    "template_fields",
    "unregister",
]
