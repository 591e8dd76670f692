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
