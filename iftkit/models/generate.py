"""Chat-formatted greedy generation shared by the smoke run, eval and judges."""


def chat_prompt_text(tokenizer, messages) -> str:
    """The exact text the model sees for a chat prompt, generation header included."""
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def generate_one(model, tokenizer, messages, max_new_tokens: int = 64) -> str:
    import torch

    enc = tokenizer(chat_prompt_text(tokenizer, messages), return_tensors="pt", add_special_tokens=False)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    with torch.no_grad():
        out = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    return tokenizer.decode(out[0][enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
