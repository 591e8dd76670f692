"""alpaca: {"instruction", "input"?, "output"}; Dolly's {"instruction", "context", "response"} too."""

from iftkit.layouts.base import Layout, text


def _read(rec) -> tuple[list[dict], str]:
    instruction = text(rec, "instruction")
    extra = text(rec, "input", required=False) or text(rec, "context", required=False)
    output = text(rec, "output" if "output" in rec else "response")
    user = instruction if not extra.strip() else f"{instruction}\n\n{extra}"
    return [{"role": "user", "content": user}], output


LAYOUT = Layout(
    name="alpaca",
    expected="alpaca fields 'instruction' and 'output' ('input' optional; Dolly's 'context'/'response' accepted)",
    fields=(("instruction",), ("output", "response")),
    read=_read,
)
