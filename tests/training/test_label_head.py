"""The labelled-rows LM head: same loss as the full head, safe on all-masked batches, off where it would be wrong."""

import torch

from iftkit.training.label_head import add_label_lm_head


def _model(tiny_model_dir):
    from transformers import AutoModelForCausalLM
    from trl.trainer.utils import add_fused_lm_head

    model = AutoModelForCausalLM.from_pretrained(str(tiny_model_dir), dtype=torch.float32)
    add_fused_lm_head(model, outputs=("log_probs",))
    return model


def test_same_loss_and_gradient_as_trl_head(tiny_model_dir):
    torch.manual_seed(0)
    full, labelled = _model(tiny_model_dir), _model(tiny_model_dir)
    assert add_label_lm_head(labelled) is True
    ids = torch.randint(5, 100, (2, 12))
    labels = ids.clone()
    labels[:, :8] = -100
    labels[1, 10] = -100
    outs = []
    for model in (full, labelled):
        out = model(input_ids=ids, labels=labels, fused_lm_head=True)
        out.loss.backward()
        outs.append((out, model.model.layers[0].mlp.up_proj.weight.grad))
    (a, ga), (b, gb) = outs
    torch.testing.assert_close(b.loss, a.loss)
    torch.testing.assert_close(b.log_probs, a.log_probs)
    assert torch.equal(b.label_mask, a.label_mask)
    torch.testing.assert_close(gb, ga)


def test_all_masked_batch_gives_zero_loss_that_backpropagates(tiny_model_dir):
    model = _model(tiny_model_dir)
    add_label_lm_head(model)
    ids = torch.randint(5, 100, (1, 6))
    out = model(input_ids=ids, labels=torch.full_like(ids, -100), fused_lm_head=True)
    assert out.loss.item() == 0.0
    out.loss.backward()  # connected to the graph: no "does not require grad" error


def test_plain_calls_and_scaled_logits_keep_trl_forward(tiny_model_dir):
    model = _model(tiny_model_dir)
    add_label_lm_head(model)
    ids = torch.randint(5, 100, (1, 6))
    assert model(input_ids=ids).logits.shape == (1, 6, model.config.vocab_size)  # generation path untouched
    capped = _model(tiny_model_dir)
    capped.config.final_logit_softcapping = 30.0
    assert add_label_lm_head(capped) is False
