"""Attention over padding-free batches, one causal block per row instead of one masked square.

A padding-free batch is one long sequence of concatenated rows (TRL's collator gives their
boundaries as `cu_seq_lens_q`). Without a varlen kernel (flash-attention on CUDA), transformers
runs SDPA over the whole concatenation with a block-diagonal mask: 446 x 446 scores per head
for 8 rows of ~56 tokens, of which ~1/8 are used, and torch's CPU flash kernel does not skip
the masked blocks. Here the rows are scattered into a right-padded [rows, longest] batch, where
a plain causal mask is exact (a row's real tokens never see its padding, which comes after
them), attended with batched matmuls, and gathered back. Grouped-query heads share their K/V
without copying them. Scores are computed in fp32, softmax too, as SDPA does.

It runs on CPU only, where it was measured (scripts/bench_train.py); CUDA has varlen flash
kernels. The scores are materialised (rows x heads x longest^2 floats per layer, kept for the
backward), so batches whose scores would pass MAX_SCORES go to SDPA, whose flash kernel keeps
memory linear in the length. So does anything else this does not cover (a KV cache, dropout,
sliding windows, soft-capping, attention sinks, a padded batch).
"""

NAME = "iftkit_packed"
# scores materialised per layer (and kept for backward) before long rows go back to SDPA: 64 MB in fp32
MAX_SCORES = 2**24
_layouts: dict = {}


def register() -> str:
    """Make NAME a transformers attention implementation (mask building as for SDPA)."""
    from transformers import AttentionInterface
    from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

    AttentionInterface.register(NAME, packed_attention)
    AttentionMaskInterface.register(NAME, sdpa_mask)
    return NAME


def use_packed_attention(model) -> bool:
    """Switch a model that attends with SDPA to the packed implementation; False for other implementations."""
    if getattr(model.config, "_attn_implementation", None) != "sdpa":
        return False
    model.set_attn_implementation(register())
    return True


def _covered(module, query, key, kwargs) -> bool:
    return (
        kwargs.get("cu_seq_lens_q") is not None
        and query.device.type == "cpu"
        and query.shape[0] == 1
        and query.shape[2] == key.shape[2]
        and not kwargs.get("dropout")
        and kwargs.get("softcap") is None
        and kwargs.get("s_aux") is None
        and kwargs.get("sliding_window") is None
        and getattr(module, "sliding_window", None) is None
        and query.shape[1] % key.shape[1] == 0
    )


def packed_attention(module, query, key, value, attention_mask, **kwargs):
    """transformers' attention-function signature; the options it passes by keyword (dropout, scaling,
    cu_seq_lens_q, softcap...) stay in kwargs, so anything not covered here goes to SDPA unchanged."""
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    heads, kv_heads, dim = query.shape[1], key.shape[1], query.shape[3]
    covered = _covered(module, query, key, kwargs)
    layout = _layout(kwargs["cu_seq_lens_q"], query.shape[2]) if covered else None
    # long rows too: SDPA's flash kernel keeps memory linear in the length
    if layout is None or layout[1] * heads * layout[2] ** 2 > MAX_SCORES:
        return sdpa_attention_forward(module, query, key, value, attention_mask, **kwargs)
    import torch

    index, rows, longest, causal = layout
    groups = heads // kv_heads

    def pad(x):  # [1, h, T, d] -> [rows, h, longest, d]
        t = x[0].transpose(0, 1)
        out = t.new_zeros(rows * longest, *t.shape[1:]).index_copy(0, index, t)
        return out.view(rows, longest, *t.shape[1:]).transpose(1, 2)

    # query heads h = kv * groups + g share K/V head kv: fold the groups into the query length
    q = pad(query).reshape(rows, kv_heads, groups * longest, dim)
    k, v = pad(key), pad(value)
    scale = dim**-0.5 if kwargs.get("scaling") is None else kwargs["scaling"]
    acc = torch.promote_types(query.dtype, torch.float32)  # scores and softmax at least in fp32
    scores = torch.matmul(q.to(acc), k.to(acc).transpose(-1, -2)).mul_(scale)
    scores = scores.view(rows, kv_heads, groups, longest, longest).masked_fill(~causal, float("-inf"))
    probs = torch.softmax(scores, dim=-1).to(v.dtype).view(rows, kv_heads, groups * longest, longest)
    out = torch.matmul(probs, v).view(rows, heads, longest, dim)
    out = out.transpose(1, 2).reshape(rows * longest, heads, dim).index_select(0, index)
    return out.unsqueeze(0), None


def _layout(cu_seq_lens, total: int):
    """(positions of the packed tokens in the padded batch, rows, longest row, causal mask): one per batch.

    Every layer of a forward gets the same `cu_seq_lens` tensor, so it is read (a host sync) once.
    """
    import torch

    key = (id(cu_seq_lens), cu_seq_lens.data_ptr(), total)
    got = _layouts.get(key)
    if got is not None and got[0] is cu_seq_lens:
        return got[1]
    bounds = cu_seq_lens.tolist()
    lengths = [b - a for a, b in zip(bounds, bounds[1:])]
    if sum(lengths) != total:
        raise ValueError(f"cu_seq_lens_q covers {sum(lengths)} tokens but the batch has {total}")
    rows, longest = len(lengths), max(lengths)
    device = cu_seq_lens.device
    index = torch.cat([torch.arange(n, device=device) + i * longest for i, n in enumerate(lengths)])
    causal = torch.ones(longest, longest, dtype=torch.bool, device=device).tril()
    layout = (index, rows, longest, causal)
    _layouts.clear()  # one batch at a time: the next forward's tensor replaces it
    _layouts[key] = (cu_seq_lens, layout)
    return layout
