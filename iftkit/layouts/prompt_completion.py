"""prompt_completion: {"prompt": str | messages, "completion": str | [assistant message]} ("response" also
accepted). iftkit's own rows are this layout, with task/category/gold/source kept."""

from iftkit.core.readers import BadRecord
from iftkit.layouts.base import Layout, maybe_json_list, messages, text


def _read(rec) -> tuple[list[dict], str]:
    p = maybe_json_list(rec["prompt"])
    if isinstance(p, str):
        if not p.strip():
            raise BadRecord("field 'prompt' is empty")
        prompt = [{"role": "user", "content": p}]
    else:
        prompt = messages(p)
    key = "completion" if "completion" in rec else "response"
    c = maybe_json_list(rec[key])
    if isinstance(c, list):  # TRL conversational form: [{"role": "assistant", ...}]
        msgs = messages(c)
        if len(msgs) != 1 or msgs[0]["role"] != "assistant":
            raise BadRecord(f"field '{key}' as messages must be one assistant message")
        completion = msgs[0]["content"]
    else:
        completion = text(rec, key)
    if not completion.strip():
        raise BadRecord(f"field '{key}' is empty")
    return prompt, completion


LAYOUT = Layout(
    name="prompt_completion",
    expected="fields 'prompt' (text or messages) and 'completion' (text)",
    fields=(("prompt",), ("completion", "response")),
    read=_read,
)
