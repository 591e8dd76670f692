import pytest

from iftkit import DEFAULT_MODEL_ID
from iftkit.config.schema import ModelConfig
from iftkit.models.chat.local import TransformersChat
from iftkit.models.chat.types import GenConfig
from iftkit.models.load import load_model_and_tokenizer, quantization_config


def test_tiny_model_loads_and_generates(tiny_model_dir):
    model, tok = load_model_and_tokenizer(ModelConfig(id=str(tiny_model_dir)))
    [reply] = TransformersChat.from_loaded(model, tok).complete_many(
        [[{"role": "user", "content": "hello"}]], GenConfig(5)
    )
    text = reply.text
    assert isinstance(text, str)


def test_4bit_config_is_nf4_double_quant():
    qc = quantization_config(ModelConfig(quantization={"mode": "4bit"}))
    assert qc.load_in_4bit and qc.bnb_4bit_quant_type == "nf4" and qc.bnb_4bit_use_double_quant
    assert quantization_config(ModelConfig()) is None
    assert quantization_config(ModelConfig(quantization={"mode": "8bit"})).load_in_8bit


@pytest.mark.integration
def test_default_model_answers_offline(smollm2_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model, tok = load_model_and_tokenizer(ModelConfig(id=DEFAULT_MODEL_ID))
    [reply] = TransformersChat.from_loaded(model, tok).complete_many(
        [[{"role": "user", "content": "What is the capital of France?"}]], GenConfig(12)
    )
    text = reply.text
    assert "Paris" in text


@pytest.fixture(scope="module")
def tiny_adapter(tmp_path_factory):
    """A tiny base model and a LoRA adapter of it (frozen once loaded, as every PEFT model is)."""
    from peft import LoraConfig, get_peft_model

    from iftkit.testing.tiny import make_model, make_tokenizer

    root = tmp_path_factory.mktemp("head")
    tok = make_tokenizer()
    base = make_model(tok)
    base.save_pretrained(root / "base")
    tok.save_pretrained(root / "base")
    get_peft_model(make_model(tok), LoraConfig(r=4, target_modules=["q_proj", "v_proj"])).save_pretrained(
        root / "adapter")
    return str(root / "base"), str(root / "adapter"), len(tok)


def _head_products(chat, vocab: int, prompts) -> list[str]:
    """The matrix products run on the LM head's weight while `chat` answers (its weight has `vocab` rows)."""
    from torch.profiler import profile

    with profile(record_shapes=True) as prof:
        chat.complete_many(prompts, GenConfig(4))
    return [e.name for e in prof.events() if e.name in ("aten::mm", "aten::bmm", "aten::addmm")
            and any(vocab in shape for shape in e.input_shapes if isinstance(shape, list))]


@pytest.mark.parametrize("fast_greedy", [True, False], ids=["iftkit-loop", "generate"])
def test_an_adapters_head_reads_its_weight_once_per_forward(tiny_adapter, fast_greedy):
    # A prefill hands the head its last positions, a strided slice; with the weight frozen, torch's matmul
    # would run one product per row (bmm), reading the whole head once per row: 16x for 16 rows
    base, adapter, vocab = tiny_adapter
    chat = TransformersChat(ModelConfig(id=base), base, adapter, batch_size=4, fast_greedy=fast_greedy)
    prompts = [[{"role": "user", "content": "tell me about " + "apples " * k}] for k in range(1, 5)]
    products = _head_products(chat, vocab, prompts)
    assert products and "aten::bmm" not in products, products
