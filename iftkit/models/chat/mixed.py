"""Greedy answers of several LoRA adapters (and the base model) over ONE loaded base model, in shared batches.

Every adapter loads into one PeftModel under its own name; each batch row carries the name it is
answered under (PEFT's mixed batches, `adapter_names`; "__base__" rows skip every LoRA delta), so the
base weights are read once per forward for all adapters instead of once per adapter.

The answers are those of TransformersChat(adapter_path=...).complete_many, one adapter at a time, in the
same dtype: prompts are cut into the same batches of `batch_size` (sorted by length), and every adapter's
rows of a batch decode together under greedy.py's batch-composition rule (greedy_decode). Two
details keep the arithmetic the same as alone:
- a shared prompt prefix's cache is computed per adapter (LoRA changes the k/v projections);
- PEFT's mixed forward rounds a LoRA delta to the model's dtype before adding it, while a lone adapter
  adds it in the adapter's dtype (fp32 adapters over bf16 weights) and rounds the sum: `_alone_arithmetic`
  adds as alone does (the same in fp32, one rounding less in bf16).
Adapters whose tokenizers render the prompts to other ids (or end turns on other tokens) are answered in
separate groups. Adapters run as trained (adapter_scale 1).
"""

from contextlib import contextmanager
from typing import Callable, Optional

from iftkit.core.errors import IftkitError
from iftkit.models.chat.greedy import DecodeSettings, DecodeStats, fast_greedy_blockers, greedy_decode
from iftkit.models.chat.local_decode import GreedyOptions, TurnEnds, greedy_answers, to_completion
from iftkit.models.chat.types import Completion, GenConfig
from iftkit.models.chat_format import chat_prompt_text
from iftkit.models.load import load_chat_tokenizer, load_model, ready_to_answer

BASE_ROWS = "__base__"  # PEFT's name for rows answered by the base model alone

# finish(index in `adapters`, prompt index, completion): called as each answer lands
MixedFinish = Optional[Callable[[int, int, Completion], None]]


class MixedAdapters:
    """A base model and several adapters of it (None = the base model itself), answering together."""

    def __init__(self, model_cfg, path: str, adapters: list[Optional[str]], batch_size: int = 16):
        if not any(a is not None for a in adapters):
            raise IftkitError("mixed-adapter batches: no adapter given (None stands for the base model beside them)")
        self.model_cfg, self.path, self.adapters, self.batch_size = model_cfg, path, list(adapters), batch_size
        self.stats = DecodeStats()
        self.loads = 0
        self._model = None
        # PEFT module keys cannot hold "." or "/": adapters go by their position
        self.names = [BASE_ROWS if a is None else f"a{k}" for k, a in enumerate(self.adapters)]
        self._toks = [load_chat_tokenizer(path, a, model_cfg) for a in self.adapters]

    def load(self):
        if self._model is None:
            from peft import PeftModel

            model = load_model(self.model_cfg, path=self.path)
            loaded = [(n, a) for n, a in zip(self.names, self.adapters) if a is not None]
            if loaded:
                model = PeftModel.from_pretrained(model, loaded[0][1], adapter_name=loaded[0][0])
                for name, adapter in loaded[1:]:
                    model.load_adapter(adapter, adapter_name=name)
            self._model = ready_to_answer(model)
            self.loads += 1
        return self._model

    def unload(self) -> None:
        self._model = None

    def complete_many(self, messages_list: list, gen: GenConfig, on_done: MixedFinish = None) -> list[list]:
        """Greedy completions [adapter][prompt], every adapter answering every prompt."""
        if gen.temperature > 0:
            raise IftkitError("mixed-adapter batches answer greedily only (temperature 0)")
        model = self.load()
        out = [[None] * len(messages_list) for _ in self.adapters]

        def finish(k: int, i: int, c: Completion) -> None:
            out[k][i] = c
            if on_done:
                on_done(k, i, c)

        for group, texts in self._groups(messages_list).items():
            self._answer_group(model, list(group), texts, gen, finish)
        return out

    def _groups(self, messages_list: list) -> dict:
        """{adapter indices: prompt texts}: adapters whose tokenizers give the same ids and turn ends share batches."""
        by_ids: dict = {}
        for k, tok in enumerate(self._toks):
            texts = [chat_prompt_text(tok, m) for m in messages_list]
            ends = TurnEnds.of(self._model, tok)
            ids = tuple(tuple(tok(t, add_special_tokens=False)["input_ids"]) for t in texts)
            by_ids.setdefault((ids, tuple(ends.eos), ends.pad), (texts, []))[1].append(k)
        return {tuple(ks): texts for texts, ks in by_ids.values()}

    def _answer_group(self, model, group: list[int], texts: list[str], gen: GenConfig, finish: Callable) -> None:
        tok = self._toks[group[0]]
        ends = TurnEnds.of(model, tok)
        if fast_greedy_blockers(model):  # model.generate's path: one adapter at a time, still one load
            for k in group:
                with _only(model, self.names[k]):
                    greedy_answers(model, self._toks[k], ends, texts, gen, lambda i, c, k=k: finish(k, i, c),
                                   GreedyOptions(self.batch_size, stats=self.stats))
            return
        prompts = [tok(t, add_special_tokens=False)["input_ids"] for t in texts]
        # the batches greedy_answers cuts for one adapter alone
        order = sorted(range(len(texts)), key=lambda i: -len(prompts[i]))
        names = [self.names[k] for k in group]
        settings = DecodeSettings(gen.max_new_tokens, frozenset(ends.eos), ends.pad)
        with _alone_arithmetic(model):
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                rows = greedy_decode(model, [prompts[i] for i in idx], settings, self.stats, names)
                for k, answers in zip(group, rows):
                    for i, row in zip(idx, answers):
                        finish(k, i, to_completion(self._toks[k], row, len(prompts[i]), gen.max_new_tokens, ends))


@contextmanager
def _only(model, name: str):
    """A block in which `model` runs as adapter `name` alone (the base model for BASE_ROWS)."""
    if name == BASE_ROWS:
        if hasattr(model, "disable_adapter"):
            with model.disable_adapter():
                yield
        else:
            yield
        return
    model.set_adapter(name)
    yield


@contextmanager
def _alone_arithmetic(model):
    """A block in which every plain LoRA linear layer adds a mixed batch's deltas as it adds a lone adapter's."""
    from functools import partial

    from peft.tuners.lora.layer import Linear

    layers = [m for m in model.modules() if isinstance(m, Linear) and not m.lora_variant]
    for layer in layers:
        layer._mixed_batch_forward = partial(_rows_as_alone, layer)
    try:
        yield
    finally:
        for layer in layers:
            del layer._mixed_batch_forward


def _rows_as_alone(layer, x, *args, adapter_names: list, **kwargs):
    """LoRA Linear.forward of one active adapter, per adapter's rows: (W x + s B A x) rounded once to W x's dtype."""
    import torch
    import torch.nn.functional as F
    from peft.tuners.lora.layer import VARIANT_KWARG_KEYS

    for key in VARIANT_KWARG_KEYS:
        kwargs.pop(key, None)
    result = layer.base_layer(x, *args, **kwargs)
    dtype = result.dtype
    for name, rows in _row_runs(adapter_names):
        if name not in layer.lora_A:  # BASE_ROWS, or an adapter that leaves this layer alone
            continue
        if not isinstance(rows, slice):
            rows = torch.tensor(rows, device=x.device)
        lora_a, lora_b = layer.lora_A[name], layer.lora_B[name]
        sub = layer._cast_input_dtype(x[rows], lora_a.weight.dtype)
        if layer.training:
            sub = layer.lora_dropout[name](sub)
        # nn.Linear's own arithmetic, without a module call per adapter and layer (the dispatch cost of a
        # decode step over many adapters); an eval-mode dropout is the identity
        delta = F.linear(F.linear(sub, lora_a.weight, lora_a.bias), lora_b.weight, lora_b.bias) * layer.scaling[name]
        if delta.dtype == dtype:
            result[rows] += delta
        else:
            result[rows] = (result[rows] + delta).to(dtype)
    return result


# the last forward's (adapter_names list, its runs), one tuple swapped whole (threads): a forward's layers share them
_RUNS: list = [(None, None)]


def _row_runs(adapter_names: list) -> list[tuple]:
    """(adapter name, its rows) per adapter: a slice where its rows are contiguous (greedy.py keeps them so),
    else their indices."""
    last = _RUNS[0]
    if last[0] is adapter_names:
        return last[1]
    where: dict = {}
    for j, name in enumerate(adapter_names):
        where.setdefault(name, []).append(j)
    runs = [(name, slice(js[0], js[-1] + 1) if js[-1] - js[0] + 1 == len(js) else js) for name, js in where.items()]
    _RUNS[0] = (adapter_names, runs)
    return runs
