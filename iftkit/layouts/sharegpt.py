"""sharegpt: {"conversations": [{"from": "human"|"gpt"|"system", "value"}, ...]} ending with a gpt turn."""

from iftkit.layouts.base import Layout, messages, split_last_assistant

_ROLES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "chatgpt": "assistant",
    "bot": "assistant",
    "model": "assistant",
    "system": "system",
}

LAYOUT = Layout(
    name="sharegpt",
    expected="a 'conversations' list of {from, value} ending with a gpt turn",
    fields=(("conversations",),),
    read=lambda rec: split_last_assistant(messages(rec["conversations"], "from", "value", _ROLES)),
)
