"""Tiny tokenizers, one per way real tokenizers handle BOS and chat templates (tests only).

Built from a few sentences in about a second, no downloads:

- smollm2: ChatML template, BOS <|im_start|> never added by the tokenizer (iftkit's default model);
- llama3: a template that writes BOS itself (<|begin_of_text|>), a tokenizer that also adds it,
  and an end-of-turn token (<|eot_id|>) that is not the EOS token;
- qwen: ChatML template, no BOS token at all;
- llama_base: no chat template, SentencePiece-style pieces, the tokenizer adds <s>;
- gemma_base: no chat template, the tokenizer adds <bos>, a pad token of its own (Gemma 3 base).
"""

from iftkit.testing.tiny import CHAT_TEMPLATE, make_tokenizer

STYLES = ("smollm2", "llama3", "qwen", "llama_base", "gemma_base")

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.\n\n",
    "Classify the sentiment of this review: positive or negative.\n",
    "User:\nWhat is 12 plus 7?\n\nAssistant:\nThe answer is 19.\n\nSystem:\nYou are a helpful assistant.\n",
    "user assistant system\n",
]

LLAMA3_TEMPLATE = (
    "{{- bos_token }}"
    "{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{%- endif %}"
)


def _bpe(specials, byte_level: bool, vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    if byte_level:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:  # SentencePiece-like: "▁" marks a space, newlines are pieces of their own
        tok = Tokenizer(models.BPE(unk_token=specials[-1]))
        tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
        tok.decoder = decoders.Metaspace(prepend_scheme="first")
        alphabet = []
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials, initial_alphabet=alphabet,
                                  show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    return tok


def _adds_bos(tok, bos: str) -> None:
    from tokenizers import processors

    bos_id = tok.token_to_id(bos)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A {bos} $B", special_tokens=[(bos, bos_id)]
    )


def make_style_tokenizer(style: str):
    """A tokenizer of one STYLES entry."""
    from transformers import PreTrainedTokenizerFast

    if style == "smollm2":
        return make_tokenizer()
    if style == "llama3":
        specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
        tok = _bpe(specials, byte_level=True)
        _adds_bos(tok, "<|begin_of_text|>")
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|begin_of_text|>",
                                       eos_token="<|end_of_text|>", pad_token="<|end_of_text|>")
        fast.add_special_tokens({"additional_special_tokens": specials[2:]})
        fast.chat_template = LLAMA3_TEMPLATE
        return fast
    if style == "qwen":
        tok = _bpe(["<|endoftext|>", "<|im_start|>", "<|im_end|>"], byte_level=True)
        fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
        fast.chat_template = CHAT_TEMPLATE
        return fast
    if style == "llama_base":
        tok = _bpe(["<s>", "</s>", "<unk>"], byte_level=False)
        _adds_bos(tok, "<s>")
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    if style == "gemma_base":
        tok = _bpe(["<pad>", "<eos>", "<bos>", "<start_of_turn>", "<end_of_turn>", "<unk>"], byte_level=False)
        _adds_bos(tok, "<bos>")
        return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>",
                                       unk_token="<unk>")
    raise ValueError(f"unknown tokenizer style {style!r}; one of {STYLES}")


def make_gemma3_model(tokenizer, hidden_size: int = 32, layers: int = 3, sliding_window: int = 8, seed: int = 0,
                      init_std: float = 0.3):
    """A tiny Gemma 3 text model: sliding-window layers with one full-attention layer, as Gemma 3 270M."""
    import torch
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(seed)
    config = Gemma3TextConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=sliding_window,
        layer_types=["sliding_attention"] * (layers - 1) + ["full_attention"],
        max_position_embeddings=512,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=init_std,
    )
    return Gemma3ForCausalLM(config)


def make_style_model(tokenizer, style: str, seed: int = 0):
    """The tiny model a style's tokenizer goes with: Gemma 3 (sliding window) for gemma_base, Llama otherwise."""
    from iftkit.testing.tiny import make_model

    if style == "gemma_base":
        return make_gemma3_model(tokenizer, seed=seed)
    return make_model(tokenizer, seed=seed, init_std=0.3)


def save_style_model(path, style: str):
    """A saved tiny model + tokenizer of one style (no chat template saved where the style has none)."""
    from pathlib import Path

    path = Path(path)
    tok = make_style_tokenizer(style)
    model = make_style_model(tok, style)
    model.generation_config.pad_token_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path
