"""A tiny Llama-style causal LM and a byte-level BPE tokenizer with a ChatML template.

Built from a config in seconds, no downloads: unit tests train, save and load it exactly
like the real SmolLM2 (same chat template shape, same special tokens).
"""

from pathlib import Path

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Classify the sentiment of this review: positive or negative.",
    "Extract every email address and date from the text below.",
    "Answer with a JSON object with the fields category and priority.",
    "What is 12 plus 7? The answer is 19.",
    "Rewrite the sentence in upper case. Sort the list. Count the words.",
    "You are a helpful assistant. user assistant system",
]


def make_tokenizer(vocab_size: int = 400):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|im_end|>",
        unk_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_model(tokenizer, hidden_size: int = 32, layers: int = 2, seed: int = 0, init_std: float = 0.02):
    """init_std 0.02 (transformers' default) answers one token over and over; 0.3 varies its tokens."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=init_std,
    )
    return LlamaForCausalLM(config)


def save_tiny_model(path, hidden_size: int = 32) -> Path:
    """Write a tiny model + tokenizer directory that `from_pretrained` and recipes accept. bitsandbytes
    quantises in blocks of 64 values: 4-bit tests need hidden_size 128."""
    path = Path(path)
    tok = make_tokenizer()
    model = make_model(tok, hidden_size=hidden_size)
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.eos_token_id
    model.save_pretrained(path)
    tok.save_pretrained(path)
    return path


_SYSTEM = {"role": "system", "content": "You are a helpful assistant. Answer with a JSON object."}
# chat prompts for decode tests: a shared system turn of several tokens, prompts of several lengths (so several
# prefill buckets), and one without the system turn (it shares only "<|im_start|>" with the others)
DECODE_PROMPTS = [[_SYSTEM, {"role": "user", "content": q}] for q in [
    "Classify the sentiment of this review: positive or negative.",
    "What is 12 plus 7?",
    "Extract every email address and date from the text below. The quick brown fox jumps over the lazy dog.",
    "Sort the list.",
    "Count the words.",
    "Rewrite the sentence in upper case.",
]] + [[{"role": "user", "content": "What is 12 plus 7?"}]]
