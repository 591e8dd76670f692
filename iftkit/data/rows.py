"""The one row format that flows from data to training to eval.

A row is a chat prompt (messages without the answer), the completion the model should
produce, the task and category it belongs to, the gold answer its scorer checks (any JSON
value), and where it came from. Rows are stored as JSONL, one object per line.
"""

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

from iftkit.core.atomic import atomic_write
from iftkit.core.errors import IftkitError
from iftkit.core.readers import iter_jsonl, require_file


@dataclass
class Row:
    prompt: list[dict]  # [{"role": "system"|"user", "content": str}, ...]
    completion: str
    task: str
    category: str
    gold: Any = None
    source: str = "catalog"  # catalog | user:<file> | teacher:<model> | synthetic-format
    meta: dict = field(default_factory=dict)

    def content_hash(self) -> str:
        """Identity of the example (prompt + completion), used for leak checks and caches."""
        blob = json.dumps([self.prompt, self.completion], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def prompt_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.prompt, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    def user_text(self) -> str:
        return "\n\n".join(m["content"] for m in self.prompt if m["role"] == "user")


def row_from_dict(d: dict, where: str = "row") -> Row:
    try:
        return Row(**d)
    except TypeError as exc:
        raise IftkitError(f"{where}: not an iftkit row ({exc})") from None


def write_rows(path, rows: Iterable[Row]) -> str:
    """Write rows as JSONL atomically; return the file's sha256."""
    h = hashlib.sha256()
    with atomic_write(path) as f:
        for row in rows:
            line = row.to_json() + "\n"
            h.update(line.encode())
            f.write(line)
    return h.hexdigest()


def read_rows(path) -> list[Row]:
    path = require_file(path, "rows file")
    return [row_from_dict(d, f"{path}:{lineno}") for lineno, d in iter_jsonl(path)]
