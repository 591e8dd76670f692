"""The recipe's column / label mapping (data.columns, data.prompt_template, data.label_map): a target
file in no known layout (a GLUE TSV of `sentence`/`label`) read column by column, and raw labels
(0/1) turned into answers. Raises BadRecord for one bad record; the loader adds file:line.
"""

import json
import math
import string
from dataclasses import dataclass, field
from typing import Optional

from iftkit.core.errors import IftkitError
from iftkit.core.readers import BadRecord

COLUMN_ROLES = ("prompt", "completion", "input", "system")


def label_key(value) -> str:
    """A raw label as the text label_map keys are compared with: CSV "0", JSON 0 and Parquet 0.0 agree."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def template_fields(template: str) -> list[str]:
    """The {column} placeholders of a prompt template (ValueError for a malformed one)."""
    names = [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    if any(n == "" or n.isdigit() for n in names):
        raise ValueError("placeholders must name a column, like {sentence} ({} and {0} name none)")
    return list(dict.fromkeys(names))


def _cell(rec: dict, column: str, why: str, required: bool = True, structured: bool = False) -> str:
    """structured: a JSON object or list in the cell (an answer that is a record or a list of entities)
    is the answer, written as JSON text; elsewhere it is refused."""
    v = rec.get(column)
    if v is None or (isinstance(v, float) and math.isnan(v)):
        if required:
            raise BadRecord(f"no value in column '{column}' ({why})")
        return ""
    if isinstance(v, (dict, list)):
        if structured:
            return json.dumps(v, ensure_ascii=False)
        raise BadRecord(f"column '{column}' ({why}) holds {type(v).__name__}, expected text")
    text = label_key(v) if not isinstance(v, str) else v
    if required and not text.strip():
        raise BadRecord(f"column '{column}' ({why}) is empty")
    return text


@dataclass(frozen=True)
class ColumnMap:
    """data.columns / data.prompt_template / data.label_map, applied to the target task's files."""

    columns: dict = field(default_factory=dict)  # role (prompt, completion, input, system) -> column
    prompt_template: Optional[str] = None
    label_map: dict = field(default_factory=dict)  # label_key(raw) -> answer

    @classmethod
    def from_config(cls, data_cfg) -> Optional["ColumnMap"]:
        if not (data_cfg.columns or data_cfg.prompt_template or data_cfg.label_map):
            return None
        return cls(dict(data_cfg.columns or {}), data_cfg.prompt_template, dict(data_cfg.label_map or {}))

    @property
    def maps_columns(self) -> bool:
        return bool(self.columns)

    def check_columns(self, available, path) -> None:
        """Every mapped column and template placeholder must exist in the file."""
        have = ", ".join(available) if available else "none"
        for role, col in self.columns.items():
            if col not in available:
                raise IftkitError(f"data.columns.{role}: no column {col!r} in {path} (columns: {have})")
        for name in template_fields(self.prompt_template or ""):
            if name not in available:
                raise IftkitError(
                    f"data.prompt_template: placeholder {{{name}}} is not a column of {path} (columns: {have})"
                )

    def to_prompt_completion(self, rec) -> tuple[list[dict], str]:
        if not isinstance(rec, dict):
            raise BadRecord(f"expected an object with the data.columns fields, got {type(rec).__name__}")
        missing = [c for c in [*self.columns.values(), *template_fields(self.prompt_template or "")] if c not in rec]
        if missing:
            raise BadRecord(
                f"missing field(s) {', '.join(repr(m) for m in missing)} named in data.columns / "
                f"data.prompt_template (fields: {', '.join(sorted(map(str, rec)))})"
            )
        if self.prompt_template:
            values = {n: _cell(rec, n, f"data.prompt_template {{{n}}}") for n in template_fields(self.prompt_template)}
            user = self.prompt_template.format_map(values)
        else:
            user = _cell(rec, self.columns["prompt"], "data.columns.prompt")
        extra = (
            _cell(rec, self.columns["input"], "data.columns.input", required=False) if "input" in self.columns else ""
        )
        if extra.strip():
            user = f"{user}\n\n{extra}"
        prompt = [{"role": "user", "content": user}]
        if "system" in self.columns:
            system = _cell(rec, self.columns["system"], "data.columns.system", required=False)
            if system.strip():
                prompt.insert(0, {"role": "system", "content": system})
        return prompt, _cell(rec, self.columns["completion"], "data.columns.completion", structured=True)

    def map_label(self, completion: str) -> str:
        """The answer for a raw label; one already in the answer set passes (rows written after mapping)."""
        if not self.label_map:
            return completion
        key = label_key(completion)
        if key in self.label_map:
            return self.label_map[key]
        if completion in self.label_map.values():
            return completion
        known = ", ".join(repr(k) for k in self.label_map)
        raise BadRecord(f"label {completion!r} is not in data.label_map (keys: {known})")
