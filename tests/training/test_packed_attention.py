"""Packed attention equals SDPA over the block-diagonal causal mask, and leaves other cases to SDPA."""

import pytest
import torch
import torch.nn.functional as F

from iftkit.training.packed_attention import packed_attention


class _Attn(torch.nn.Module):
    is_causal = True

    def __init__(self, groups):
        super().__init__()
        self.num_key_value_groups = groups


def _packed_reference(q, k, v, lengths):
    seg = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(lengths))
    n = seg.numel()
    mask = (seg[:, None] == seg[None, :]) & torch.ones(n, n, dtype=torch.bool).tril()
    g = q.shape[1] // k.shape[1]
    out = F.scaled_dot_product_attention(
        q, k.repeat_interleave(g, 1), v.repeat_interleave(g, 1), attn_mask=mask[None, None]
    )
    return out.transpose(1, 2)


@pytest.mark.parametrize("heads,kv_heads", [(4, 2), (3, 3), (6, 1)])
def test_matches_block_diagonal_sdpa_with_gradients(heads, kv_heads):
    torch.manual_seed(0)
    lengths = [3, 1, 7, 5]
    total, dim = sum(lengths), 8
    q = torch.randn(1, heads, total, dim, dtype=torch.float64, requires_grad=True)
    k = torch.randn(1, kv_heads, total, dim, dtype=torch.float64, requires_grad=True)
    v = torch.randn(1, kv_heads, total, dim, dtype=torch.float64, requires_grad=True)
    cu = torch.tensor([0, 3, 4, 11, 16])
    got, _ = packed_attention(_Attn(heads // kv_heads), q, k, v, None, scaling=dim**-0.5, cu_seq_lens_q=cu)
    want = _packed_reference(q, k, v, lengths)
    assert got.shape == (1, total, heads, dim)
    torch.testing.assert_close(got, want)
    g = torch.randn_like(got)
    grads = torch.autograd.grad((got * g).sum(), (q, k, v))
    ref_grads = torch.autograd.grad((want * g).sum(), (q, k, v))
    for a, b in zip(grads, ref_grads):
        torch.testing.assert_close(a, b)


def test_without_row_boundaries_it_is_sdpa():
    torch.manual_seed(1)
    q, k, v = (torch.randn(2, 2, 5, 4) for _ in range(3))
    got, _ = packed_attention(_Attn(1), q, k, v, None, scaling=0.5)
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=0.5).transpose(1, 2)
    torch.testing.assert_close(got, want)


def test_boundaries_that_do_not_cover_the_batch_are_refused():
    q, k, v = (torch.randn(1, 2, 6, 4) for _ in range(3))
    with pytest.raises(ValueError, match="covers 5 tokens but the batch has 6"):
        packed_attention(_Attn(1), q, k, v, None, cu_seq_lens_q=torch.tensor([0, 2, 5]))


def test_rows_too_long_for_the_score_budget_go_to_sdpa(monkeypatch):
    import iftkit.training.packed_attention as pa

    calls = []
    monkeypatch.setattr(pa, "MAX_SCORES", 10)
    monkeypatch.setattr(
        "transformers.integrations.sdpa_attention.sdpa_attention_forward",
        lambda *a, **k: calls.append(k) or (None, None),
    )
    q, k, v = (torch.randn(1, 2, 6, 4) for _ in range(3))
    packed_attention(_Attn(1), q, k, v, None, cu_seq_lens_q=torch.tensor([0, 2, 6]))
    assert len(calls) == 1  # 2 rows x 2 heads x 4^2 scores > 10
