"""The ids a model sees, per tokenizer style: BOS exactly once where the tokenizer wants it, the same
prompt ids in training (SFTTrainer's dataset) and in eval (what the model's forward receives), a
base model without a chat template trained and scored in one format, and SmolLM2's ids unchanged."""

import pytest
import torch

from iftkit.data.rows import Row
from iftkit.models.chat.local import TransformersChat
from iftkit.models.chat.types import GenConfig
from iftkit.models.chat_format import (
    PLAIN_TURNS,
    chat_example_ids,
    chat_example_lengths,
    plain_turns_template,
    prepare_tokenizer,
    prompt_format,
    prompt_ids,
    stop_token_ids,
)
from iftkit.testing.tokenizer_styles import STYLES, make_style_model, make_style_tokenizer

PROMPT = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is 12 plus 7?"},
]
ANSWER = "The answer is 19."
# who should put BOS first: the style's tokenizer adds one (llama3, the base styles); SmolLM2's template
# writes <|im_start|>, its BOS token, as text; Qwen has no BOS
WANTS_BOS = {"smollm2": True, "llama3": True, "qwen": False, "llama_base": True, "gemma_base": True}


def _forward_inputs(model):
    """Record the input_ids (and attention mask) of every forward call of `model`."""
    seen = []

    def hook(module, args, kwargs):
        ids = kwargs.get("input_ids", args[0] if args else None)
        seen.append((ids.clone(), None if kwargs.get("attention_mask") is None else kwargs["attention_mask"].clone()))

    return seen, model.register_forward_pre_hook(hook, with_kwargs=True)


def _training_example(model, tok, tmp_path):
    """input_ids and labels of the one row SFTTrainer (iftkit's, as train/sft.py builds it) trains on."""
    from trl import SFTConfig

    from iftkit.training.dataset import rows_to_dataset
    from iftkit.training.trainer import IftkitSFTTrainer

    ds = rows_to_dataset([Row(prompt=PROMPT, completion=ANSWER, task="t", category="c")])
    args = SFTConfig(output_dir=str(tmp_path / "ck"), report_to=[], use_cpu=True, max_length=None,
                     dataset_num_proc=None, disable_tqdm=True)
    trainer = IftkitSFTTrainer(model=model, args=args, train_dataset=ds, processing_class=tok)
    ex = trainer.train_dataset[0]
    return ex["input_ids"], ex["labels"]


@pytest.mark.parametrize("style", STYLES)
def test_bos_exactly_once_where_the_tokenizer_wants_it(style):
    tok = make_style_tokenizer(style)
    ids = prompt_ids(tok, PROMPT)
    bos = tok.bos_token_id
    if WANTS_BOS[style]:
        assert ids[0] == bos and ids[1] != bos  # first, never doubled
        if style != "smollm2":  # ChatML opens every turn with <|im_start|>, SmolLM2's BOS token
            assert ids.count(bos) == 1
    else:
        assert bos is None or bos not in ids


@pytest.mark.parametrize("style", STYLES)
def test_training_and_eval_see_the_same_prompt_ids(style, tmp_path):
    tok = make_style_tokenizer(style)
    model = make_style_model(tok, style)
    train_ids, labels = _training_example(model, tok, tmp_path)
    n_prompt = next(k for k, lab in enumerate(labels) if lab != -100)

    chat = TransformersChat.from_loaded(model, tok)
    seen, handle = _forward_inputs(model)
    try:
        chat.complete_many([PROMPT], GenConfig(max_new_tokens=2))
    finally:
        handle.remove()
    eval_ids = seen[0][0][0].tolist()  # the first forward: the whole prompt, one row

    assert eval_ids == prompt_ids(tok, PROMPT)
    assert train_ids[:n_prompt] == eval_ids  # the prompt an adapter learns after is the one eval sends
    assert all(lab == t for lab, t in zip(labels[n_prompt:], train_ids[n_prompt:]))  # the answer carries loss
    assert ANSWER in tok.decode(train_ids[n_prompt:])
    if WANTS_BOS[style]:
        assert train_ids[0] == tok.bos_token_id and train_ids[1] != tok.bos_token_id


@pytest.mark.parametrize("style", ["llama_base", "gemma_base"])
def test_a_base_model_gets_the_plain_turns_format_with_bos_and_eos(style):
    tok = make_style_tokenizer(style)
    assert not tok.chat_template
    prepare_tokenizer(tok)
    assert prompt_format(tok) == PLAIN_TURNS
    assert tok.chat_template == plain_turns_template(bos=True)
    text = tok.apply_chat_template(PROMPT + [{"role": "assistant", "content": ANSWER}], tokenize=False)
    assert text == (
        f"{tok.bos_token}System:\nYou are a helpful assistant.\n\nUser:\nWhat is 12 plus 7?\n\n"
        f"Assistant:\n{ANSWER}{tok.eos_token}\n\n"
    )
    ex = chat_example_ids(tok, PROMPT, [{"role": "assistant", "content": ANSWER}])
    answer = [t for t, m in zip(ex["input_ids"], ex["completion_mask"]) if m]
    assert tok.eos_token_id in answer  # the adapter learns to stop
    assert stop_token_ids(tok) == [tok.eos_token_id]


def test_a_tokenizer_without_bos_gets_plain_turns_without_bos():
    tok = make_style_tokenizer("qwen")
    tok.chat_template = None
    prepare_tokenizer(tok)
    assert tok.chat_template == plain_turns_template(bos=False)
    assert prompt_ids(tok, PROMPT)[:1] == tok("System:", add_special_tokens=False)["input_ids"][:1]


def test_generation_stops_on_the_templates_end_of_turn_token():
    tok = make_style_tokenizer("llama3")
    eot, eos = tok.convert_tokens_to_ids("<|eot_id|>"), tok.eos_token_id
    assert set(stop_token_ids(tok)) == {eot, eos}

    class Config:
        eos_token_id = [eos]

    assert set(stop_token_ids(tok, Config())) == {eot, eos}


def test_a_template_without_bos_gets_it_when_the_tokenizer_adds_one():
    tok = make_style_tokenizer("llama3")
    shipped = tok.chat_template.replace("{{- bos_token }}", "")
    tok.chat_template = shipped
    prepare_tokenizer(tok)
    ids = prompt_ids(tok, PROMPT)
    assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1
    assert tok.chat_template.endswith(shipped)


def test_smollm2_style_ids_are_those_of_the_shipped_template_and_trl(tmp_path):
    """SmolLM2 (iftkit's default model): the template is used as shipped, eval's ids are the ones
    iftkit sent before chat_format existed, and training's are the ones TRL's own tokenisation gives."""
    from trl import SFTConfig, SFTTrainer

    from iftkit.training.dataset import rows_to_dataset

    tok = make_style_tokenizer("smollm2")
    shipped = tok.chat_template
    old_eval = tok(tok.apply_chat_template(PROMPT, tokenize=False, add_generation_prompt=True),
                   add_special_tokens=False)["input_ids"]
    ds = rows_to_dataset([Row(prompt=PROMPT, completion=ANSWER, task="t", category="c")])
    args = SFTConfig(output_dir=str(tmp_path / "ck"), report_to=[], use_cpu=True, dataset_num_proc=None)
    trl_ex = SFTTrainer(model=make_style_model(tok, "smollm2"), args=args, train_dataset=ds,
                        processing_class=tok).train_dataset[0]

    assert prompt_ids(tok, PROMPT) == old_eval
    assert tok.chat_template == shipped and prompt_format(tok) is None
    ours, labels = _training_example(make_style_model(tok, "smollm2"), tok, tmp_path)
    assert ours == trl_ex["input_ids"] and labels == trl_ex["labels"]


def test_verdict_probabilities_read_the_same_prompt_ids():
    tok = make_style_tokenizer("gemma_base")
    model = make_style_model(tok, "gemma_base")
    chat = TransformersChat.from_loaded(model, tok)
    seen, handle = _forward_inputs(model)
    try:
        [got] = chat.choice_probs([PROMPT], ["positive", "negative"], prefix="Verdict: ")
    finally:
        handle.remove()
    # the mass on the allowed verdicts, not renormalised (a verdict with little mass counts as unparseable)
    assert got.probs and 0 < sum(got.probs.values()) <= 1 + 1e-6
    ids, mask = seen[0]
    row = ids[0][mask[0].bool()].tolist() if mask is not None else ids[0].tolist()
    base = prompt_ids(tok, PROMPT)
    assert row[: len(base)] == base and row.count(tok.bos_token_id) == 1


def test_reward_model_input_has_bos_once():
    from iftkit.evaluation.scorers.reward import _conversation_text, _encode

    for style in ("llama3", "llama_base", "qwen"):
        tok = make_style_tokenizer(style)
        tok.pad_token = tok.pad_token or tok.eos_token  # as the scorer's loader sets it
        text = _conversation_text(tok, PROMPT, ANSWER)
        ids = _encode(tok, [text])["input_ids"][0].tolist()
        if tok.bos_token_id is None:
            continue
        assert ids[0] == tok.bos_token_id and ids.count(tok.bos_token_id) == 1, style


def test_sliding_window_model_decodes_through_generate_and_batches_agree():
    """Gemma 3's sliding-window layers: iftkit's greedy loop steps aside (its cache edits assume full
    attention) and model.generate decodes; batched and one-at-a-time answers agree past the window."""
    from iftkit.models.chat.greedy import fast_greedy_blockers

    tok = make_style_tokenizer("gemma_base")
    model = make_style_model(tok, "gemma_base").eval()
    assert model.config.sliding_window < len(prompt_ids(tok, PROMPT))  # the window is actually exercised
    assert fast_greedy_blockers(model) == ["cache layers other than full attention"]
    prompts = [PROMPT, [{"role": "user", "content": "Sort the list."}]]
    chat = TransformersChat.from_loaded(model, tok, batch_size=2)
    gen = GenConfig(max_new_tokens=6)
    batched = [c.text for c in chat.complete_many(prompts, gen)]
    single = [chat.complete_many([p], gen)[0].text for p in prompts]
    assert batched == single
    ids = torch.tensor([prompt_ids(tok, PROMPT)])
    with torch.no_grad():
        ref = model.generate(ids, max_new_tokens=6, do_sample=False, eos_token_id=stop_token_ids(tok),
                             pad_token_id=tok.pad_token_id)
    assert batched[0] == tok.decode(ref[0, ids.shape[1]:], skip_special_tokens=True).strip()


@pytest.mark.integration
def test_smollm2_ids_unchanged_on_the_quickstart_mix(smollm2_dir, tmp_path):
    """The real SmolLM2 tokenizer on every training row of the quickstart mix: eval's prompt ids are
    those iftkit sent before chat_format, training's ids and labels those of TRL's own tokenisation."""
    from pathlib import Path

    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from iftkit.config import load_recipe
    from iftkit.data.mix import build_mix
    from iftkit.data.rows import read_rows
    from iftkit.testing.tiny import make_model
    from iftkit.training.dataset import rows_to_dataset
    from iftkit.training.trainer import IftkitSFTTrainer

    root = Path(__file__).resolve().parents[2]
    build_mix(load_recipe(str(root / "recipes/quickstart.yaml")), tmp_path / "mix")
    rows = read_rows(tmp_path / "mix" / "train.jsonl")
    raw = AutoTokenizer.from_pretrained(smollm2_dir)
    tok = AutoTokenizer.from_pretrained(smollm2_dir)
    for r in rows:
        old = raw(raw.apply_chat_template(r.prompt, tokenize=False, add_generation_prompt=True),
                  add_special_tokens=False)["input_ids"]
        assert prompt_ids(tok, r.prompt) == old
    assert tok.chat_template == raw.chat_template and stop_token_ids(tok) == [raw.eos_token_id]

    def dataset(cls):
        args = SFTConfig(output_dir=str(tmp_path / cls.__name__), report_to=[], use_cpu=True, dataset_num_proc=None)
        trainer = cls(model=make_model(tok), args=args, train_dataset=rows_to_dataset(rows), processing_class=tok)
        return [(ex["input_ids"], ex["labels"]) for ex in trainer.train_dataset]

    assert dataset(IftkitSFTTrainer) == dataset(SFTTrainer)


@pytest.mark.parametrize("style", STYLES)
def test_batched_example_lengths_are_the_lengths_of_the_training_ids(style):
    # training.max_length is sized with the batched count: it must be the length training tokenises
    tok = prepare_tokenizer(make_style_tokenizer(style))
    examples = [(PROMPT, [{"role": "assistant", "content": ANSWER * k}]) for k in range(4)]
    examples.append(([{"role": "user", "content": "Hi"}], [{"role": "assistant", "content": ""}]))
    assert chat_example_lengths(tok, examples, batch=2) == [
        len(chat_example_ids(tok, p, c)["input_ids"]) for p, c in examples
    ]
