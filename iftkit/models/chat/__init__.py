"""One chat backend for every model call: eval generation, the judge and the teacher.

A backend answers two questions about chat prompts (lists of {role, content} messages):
- `complete_many(messages_list, gen, seeds=None, on_done=None)`: the model's reply to each;
- `choice_probs(messages_list, choices, prefix, on_done=None)` (local models only): the
  probability of each allowed continuation after `prefix` in the assistant's turn, read from
  the next-token distribution (no decoding), normalised over the choices.

Implementations: `TransformersChat` (local model, optionally + LoRA adapter), `OpenAIChat`
(any OpenAI-compatible HTTP server, with a circuit breaker) and `VllmChat` (GPU). `CachedChat`
puts the one content-keyed cache in front of any of them.
"""

from iftkit.models.chat.types import Completion, GenConfig

__all__ = ["Completion", "GenConfig"]
