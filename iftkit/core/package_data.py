"""Data files that installed PyPI packages ship (a model, a benchmark's rows), found without importing the
package: importing some runs code (downloads, heavy dependencies) that reading a file does not need."""

import importlib.util
from pathlib import Path

from iftkit.core.errors import IftkitError


def package_path(package: str, relative: str, missing: str, check: str = "") -> Path:
    """<the installed package's folder>/relative. missing: the error line when the package is not installed
    (say what needs it and how to install it); check: a file under the path that must exist (default the path)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise IftkitError(missing)
    path = Path(spec.submodule_search_locations[0]) / relative
    if not (path / check if check else path).is_file():
        raise IftkitError(f"{path} is missing or incomplete: reinstall the package ({missing})")
    return path
