"""Probabilities of a fixed set of answers from a model's next-token distributions.

A judge's verdict is one of a few strings ("0".."10", "A"/"B"/"tie"). Each choice is
tokenised together with the prompt (so a space merging into the first token is handled),
the tokens all choices share become the prompt, and the rest form a small trie. The model is
asked for its next-token distribution at the trie's inner nodes only, read from one forward pass
per leaf of the inner nodes: one for single-token choices ("A", "B", "7") and for "0".."10" alike
(prompt + "1" gives the distributions before and after the "1"). A
choice that is a prefix of another ("1" vs "10") gets the probability of stopping there:
P(path) minus the mass that continues into a longer choice. The result is normalised over the
choices, so it is a distribution over verdicts with no parsing at all. It is not normalised:
the masses sum to what the model puts on allowed choices at all, which the judge records
(verdicts.from_probs) and treats as unparseable when too little.
"""

import math
from dataclasses import dataclass
from typing import Callable

# next_logprobs(prompt token ids, {node path: token ids wanted}) -> {node path: {token id: logprob}}
NextLogprobs = Callable[[list, dict], dict]


@dataclass
class ChoiceTrie:
    base: list  # the prompt's token ids (shared by every choice)
    rests: list  # per choice: its own token ids after the prompt
    wants: dict  # inner node (path of token ids) -> token ids whose probability is needed there

    @classmethod
    def build(cls, sequences: list) -> "ChoiceTrie":
        """sequences: prompt + choice token ids, one per choice."""
        common = _common_prefix(sequences)
        rests = [tuple(s[common:]) for s in sequences]
        wants: dict = {}
        for r in rests:
            for k in range(len(r)):
                wants.setdefault(r[:k], set()).add(r[k])
        return cls(list(sequences[0][:common]), rests, wants)

    def leaves(self) -> list:
        """The inner nodes no other inner node continues: one forward pass over prompt + leaf path gives the
        next-token distribution at the leaf and at every node on its way (causal attention)."""
        return [p for p in self.wants if not any(len(q) > len(p) and q[: len(p)] == p for q in self.wants)]

    def distribution(self, lps: dict) -> dict:
        """{choice index: p} from {node: {token: logprob}}, p = the probability of exactly that choice
        (not normalised: the sum is the mass on allowed choices); empty when no choice has any mass."""
        def path_logprob(r: tuple) -> float:
            return sum(lps[r[:k]].get(r[k], -math.inf) for k in range(len(r)))

        mass = {}
        for i, r in enumerate(self.rests):
            p = math.exp(path_logprob(r))
            for t in self.wants.get(r, ()):  # the part of p that goes on into a longer choice
                p -= math.exp(path_logprob(r + (t,)))
            mass[i] = max(p, 0.0)
        return mass if sum(mass.values()) > 0.0 else {}


def choice_distribution(sequences: list, next_logprobs: NextLogprobs) -> tuple[dict, int]:
    """Returns ({choice index: p}, prompt tokens) for one prompt."""
    trie = ChoiceTrie.build(sequences)
    return trie.distribution(next_logprobs(trie.base, trie.wants) if trie.wants else {}), len(trie.base)


def _common_prefix(sequences) -> int:
    n = min(len(s) for s in sequences)
    for k in range(n):
        if any(s[k] != sequences[0][k] for s in sequences):
            return k
    return n
