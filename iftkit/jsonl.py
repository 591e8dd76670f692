"""Read JSON Lines with errors that name the file and line (blank lines are skipped)."""

import json
from pathlib import Path
from typing import Any, Iterator

from iftkit.errors import IftkitError


def iter_jsonl(path) -> Iterator[tuple[int, Any]]:
    """Yield (line number, parsed value) for each non-blank line of `path`."""
    path = Path(path)
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as exc:
                raise IftkitError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
