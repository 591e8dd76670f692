"""One chat backend for every model call: eval generation, the judge and the teacher.

backend.py is the contract (`ChatBackend`: identity, complete_many, optionally choice_probs) and
what a backend is built from (`LocalModel` weights or a `Server`); registry.py collects the
backends, each declared by its own module (`BACKENDS = (BackendInfo(...),)`: local.py =
transformers, vllm.py = vLLM (GPU), http.py = any OpenAI-compatible server); factory.py turns a
recipe's backend keys into a backend for eval, the judge, the teacher and the lm-eval harness.
`CachedChat` (cache.py) puts the one content-keyed cache in front of any of them.
"""

from iftkit.models.chat.types import Completion, GenConfig

__all__ = ["Completion", "GenConfig"]
