"""How a conversation becomes the token ids a model sees: one rule for training and every eval path.

Tokenizers differ in who writes BOS. Llama 3 and Gemma templates write it as text; Qwen has no
BOS at all; Llama/Mistral/Gemma *base* checkpoints have no chat template and rely on the
tokenizer adding BOS when called with add_special_tokens=True. TRL tokenises chat data with
add_special_tokens=False (the template is trusted to write every special token), and so does
every iftkit generation path. So iftkit makes the template carry the whole truth, once, when a
tokenizer is loaded (`prepare_tokenizer`):

- a tokenizer without a chat template gets iftkit's base-model format, PLAIN_TURNS (below), with
  BOS written first when the tokenizer adds one on its own;
- a template that does not write BOS for a tokenizer that adds one gets BOS put in front;
- every other template (SmolLM2, Qwen, Llama 3, Gemma-it) is left exactly as shipped.

Training saves the tokenizer with the adapter, so the adapter directory carries the format it
learnt as its chat template (plain transformers and vLLM users get the same prompts), and eval
renders the adapter's template. Text is then tokenised with add_special_tokens=False everywhere:
BOS exactly once.

PLAIN_TURNS, the format for models without a chat template (`iftkit-plain-turns-v1`):

    <bos>System:
    {system}

    User:
    {user}

    Assistant:
    {answer}<eos>

Each turn is "Role:" and a newline, then the content, then a blank line; an assistant turn ends
with the tokenizer's EOS token right after its content, so a trained adapter learns to stop
there. The generation prompt is "Assistant:" and a newline. `<bos>` only where the tokenizer adds
BOS on its own.
"""

from typing import Optional

PLAIN_TURNS = "iftkit-plain-turns-v1"
BOS_ADDED = "template+bos"  # a shipped template with BOS put in front (the tokenizer adds one, the template did not)
_PREPARED = "_iftkit_prompt_format"  # attribute on a prepared tokenizer: what prepare_tokenizer did (None = nothing)

_PLAIN_TURNS_BODY = (
    "{%- for message in messages %}"
    "{{- message['role'] | capitalize + ':\\n' + message['content'] }}"
    "{%- if message['role'] == 'assistant' %}{{- eos_token }}{%- endif %}"
    "{{- '\\n\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- 'Assistant:\\n' }}{%- endif %}"
)

_PROBE = [{"role": "user", "content": "Hi"}]


def plain_turns_template(bos: bool) -> str:
    """PLAIN_TURNS as a Jinja chat template, with or without BOS first."""
    return ("{{- bos_token }}" if bos else "") + _PLAIN_TURNS_BODY


def tokenizer_adds_bos(tok) -> bool:
    """True when the tokenizer puts BOS in front of plain text by itself (add_special_tokens=True)."""
    bos = tok.bos_token_id
    if bos is None:
        return False
    with_special = tok("a", add_special_tokens=True)["input_ids"]
    plain = tok("a", add_special_tokens=False)["input_ids"]
    return with_special[:1] == [bos] and plain[:1] != [bos]


def _template_writes_bos(tok) -> bool:
    text = tok.apply_chat_template(_PROBE, tokenize=False, add_generation_prompt=True)
    return bool(tok.bos_token) and text.startswith(tok.bos_token)


def prepare_tokenizer(tok):
    """Make `tok.chat_template` render exactly the text the model should see (see the module doc).

    Idempotent: a tokenizer is inspected once; preparing an already prepared one changes nothing.
    Returns the tokenizer."""
    if hasattr(tok, _PREPARED):
        return tok
    done = None
    if not getattr(tok, "chat_template", None):
        tok.chat_template = plain_turns_template(tokenizer_adds_bos(tok))
        done = PLAIN_TURNS
    elif tokenizer_adds_bos(tok) and not _template_writes_bos(tok):
        tok.chat_template = "{{- bos_token }}" + tok.chat_template
        done = BOS_ADDED
    setattr(tok, _PREPARED, done)
    return tok


def prompt_format(tok) -> Optional[str]:
    """What prepare_tokenizer changed: PLAIN_TURNS, BOS_ADDED, or None (the template as shipped)."""
    return getattr(prepare_tokenizer(tok), _PREPARED)


def is_plain_turns(template: Optional[str]) -> bool:
    """A chat template (e.g. an adapter's saved one) is iftkit's base-model format."""
    return bool(template) and template.endswith(_PLAIN_TURNS_BODY)


def format_name(tok) -> str:
    """The conversation format in words, for adapter cards and logs."""
    if is_plain_turns(getattr(prepare_tokenizer(tok), "chat_template", None)):
        return PLAIN_TURNS
    return "the tokenizer's chat template" + (" with BOS put in front" if prompt_format(tok) == BOS_ADDED else "")


def chat_prompt_text(tok, messages) -> str:
    """The exact text the model sees for a chat prompt, generation header included."""
    return prepare_tokenizer(tok).apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_ids(tok, messages, suffix: str = "") -> list[int]:
    """The token ids the model sees for a chat prompt (+ `suffix`, e.g. a verdict prefix and choice):
    the same ids training put in front of the answer."""
    return tok(chat_prompt_text(tok, messages) + suffix, add_special_tokens=False)["input_ids"]


def stop_token_ids(tok, generation_config=None) -> list[int]:
    """Every token that ends the model's turn: the generation config's EOS ids, the tokenizer's EOS,
    and the special token the chat template closes an assistant turn with (Gemma-it's
    <end_of_turn>, Llama 3's <|eot_id|>), which a converted checkpoint's config may not list."""
    eos = getattr(generation_config, "eos_token_id", None)
    ids = list(eos) if isinstance(eos, (list, tuple)) else ([] if eos is None else [eos])
    if tok.eos_token_id is not None:
        ids.append(tok.eos_token_id)
    end = _turn_end_id(tok)
    if end is not None:
        ids.append(end)
    return list(dict.fromkeys(ids))


def _turn_end_id(tok) -> Optional[int]:
    mark = "Zq7xV"  # plain text no template alters
    try:
        text = prepare_tokenizer(tok).apply_chat_template(
            _PROBE + [{"role": "assistant", "content": mark}], tokenize=False
        )
    except Exception:  # a template that refuses this shape of conversation: no extra stop token
        return None
    after = text.rsplit(mark, 1)[-1] if mark in text else ""
    ids = tok(after, add_special_tokens=False)["input_ids"] if after else []
    if not ids:
        return None
    added = getattr(tok, "added_tokens_decoder", {}).get(ids[0])
    return ids[0] if ids[0] in tok.all_special_ids or (added is not None and added.special) else None


def _example_texts(tok, prompt: list, completion: list) -> tuple[str, str]:
    """The rendered prompt (generation header included) and the rendered whole conversation."""
    prepare_tokenizer(tok)
    text = chat_prompt_text(tok, prompt)
    return text, tok.apply_chat_template(list(prompt) + list(completion), tokenize=False)


def chat_example_ids(tok, prompt: list, completion: list) -> dict:
    """One training example as ids: the prompt's ids exactly as `prompt_ids` gives them to the model at
    eval, then the answer's (the rest of the rendered conversation: content and end-of-turn tokens).

    TRL would tokenise prompt and prompt + answer separately and cut where they diverge; where a
    template's last prompt token merges with the answer's first (no space or newline between
    them), the prompt it trains on then differs from the one eval sends. Tokenising the two parts
    apart keeps them identical by construction. A template that renders the prompt differently once
    an answer follows falls back to TRL's rule: the longest common prefix is the prompt."""
    text, full = _example_texts(tok, prompt, completion)
    if full.startswith(text):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        answer = tok(full[len(text):], add_special_tokens=False)["input_ids"]
        return {"input_ids": ids + answer, "completion_mask": [0] * len(ids) + [1] * len(answer)}
    ids = tok(text, add_special_tokens=False)["input_ids"]
    whole = tok(full, add_special_tokens=False)["input_ids"]
    n = next((k for k, (a, b) in enumerate(zip(ids, whole)) if a != b), min(len(ids), len(whole)))
    return {"input_ids": whole, "completion_mask": [0] * n + [1] * (len(whole) - n)}


def chat_example_lengths(tok, examples, batch: int = 1024) -> list[int]:
    """len(chat_example_ids(tok, prompt, completion)["input_ids"]) for each (prompt, completion), the
    texts tokenised in batches (several times faster than one example at a time)."""
    out = []
    examples = list(examples)
    for start in range(0, len(examples), batch):
        pairs = [_example_texts(tok, p, c) for p, c in examples[start:start + batch]]
        # the same pieces chat_example_ids tokenises: prompt and answer apart, or the whole conversation
        pieces = [[t, f[len(t):]] if f.startswith(t) else [f] for t, f in pairs]
        ids = tok([x for p in pieces for x in p], add_special_tokens=False)["input_ids"]
        at = 0
        for p in pieces:
            out.append(sum(len(i) for i in ids[at:at + len(p)]))
            at += len(p)
    return out
