"""Write a file so that readers see the old content or the new, never half of it.

The content goes to a temp file with a unique name in the same folder (two writers never
share one, and os.replace stays a same-filesystem rename), is flushed to disk, then renamed
over the target. On any error the temp file is removed and the target is left as it was.
"""

import json
import os
import uuid
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(path, mode: str = "w", encoding: str = "utf-8"):
    """`with atomic_write(p) as f: f.write(...)`: p appears complete when the block ends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # leading dot and .tmp suffix: globs for the real files (*.jsonl, *.png) never see it
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    binary = "b" in mode
    try:
        with open(tmp, mode.replace("w", "x"), encoding=None if binary else encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text: str) -> Path:
    with atomic_write(path) as f:
        f.write(text)
    return Path(path)


def write_json_atomic(path, data, **dumps_kwargs) -> Path:
    return write_text_atomic(path, json.dumps(data, **dumps_kwargs) + "\n")
