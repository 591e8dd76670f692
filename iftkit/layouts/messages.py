"""messages: {"messages": [{"role", "content"}, ...]} ending with an assistant turn."""

from iftkit.layouts.base import Layout, messages, split_last_assistant

LAYOUT = Layout(
    name="messages",
    expected="a 'messages' list of {role, content} ending with an assistant message",
    fields=(("messages",),),
    read=lambda rec: split_last_assistant(messages(rec["messages"])),
)
