"""The ifeval scorer is a thin adapter over lm-eval's IFEval: on hand-written predictions for
IFEval-format rows covering every instruction type, its prompt- and instruction-level, strict and
loose accuracies equal lm-eval's own functions on the same predictions."""

import json

import pytest

from iftkit.evaluation.harness.tasks import packaged_task_dir
from iftkit.evaluation.records import SampleRecord
from iftkit.evaluation.results import aggregate_rows
from iftkit.evaluation.scorers import get_scorer

pytest.importorskip("lm_eval")

# one hand-written answer per prompt of tasks/iftkit_ifeval.jsonl (in order): some follow every
# instruction, some break one, some pass only under the loose rules (markdown, a first line)
PREDICTIONS = [
    "The fog rolled in early. He set the kettle on the stove and watched the grey sea.",
    "Have you seen my cat? The cat is grey. Please call me if the cat comes to your door.",
    "Put the egg in boiling water for nine minutes, then cool it.",
    "Busy bakers bring big brown loaves to the bustling bench by the door.",
    "Je prendrais un maillot de bain, une serviette, de la crème solaire et un bon livre pour la plage.",
    "Start slowly. Run three times a week. Rest when something hurts. Buy good shoes. Enjoy it.",
    "The platform is empty.\n\n***\n\nA train whistles far away.\n\n***\n\nThe clock ticks past midnight.",
    "People keep houseplants because they brighten rooms, clean the air a little and are calming to care for.",
    "The market opens at dawn with bright stalls of fruit.\n\nLater the square fills with music and voices.",
    "Dear team, please join the meeting on [date] at [time] in room [room].",
    "Thank you for a wonderful year of lessons.\n\nP.S. I still use your reading tips every day.",
    "Here are my reasons:\n* It saves money.\n* It is healthier.\n* It is fun to share.",
    "My answer is yes.",
    "A good desk has *a comfortable chair* and *a screen at eye level*, plus some light.",
    "SECTION 1\nHike to the lake and camp.\nSECTION 2\nClimb to the ridge and walk down.",
    "```json\n{\"name\": \"Ada\", \"age\": 31, \"favourite colour\": \"teal\"}\n```",
    "<<Rain Song>>\nRain taps the glass,\nsoft and slow,\nthe street shines,\nand puddles grow.",
    "Spoke & Spin\n******\nThe Chain Gang",
    "Sure! Name three uses of a paperclip.\nHold papers, reset a device, and make a small hook.",
    "Every hour you study builds your future. Keep going.\nGood luck!",
    "This WARM coat is WATERPROOF and light, with a soft lining and deep pockets.",
    "Sure, here it is:\nTHE MOON IS EARTH'S ONLY NATURAL SATELLITE AND IT SHAPES OUR TIDES.",
    "my ideal breakfast is Porridge with berries and a cup of tea.",
    "A library card lets you borrow books and use the computers for free.",
    "\"Go to bed at the same time every night.\"",
    "the museum was quiet and bright and the old maps were my favourite part of the visit",
    "Tulips open in the sun while a bee hums between them. Is there anything else I can help with?",
    "* Wear layers.\n* Drink something hot.",
]


def _rows():
    return [json.loads(line) for line in (packaged_task_dir() / "iftkit_ifeval.jsonl").read_text().splitlines()]


def test_ifeval_scorer_equals_lm_evals_own_functions_on_every_instruction_type():
    from iftkit.evaluation.harness.env import sentence_splitter

    sentence_splitter()  # lm-eval's IFEval module would try to download NLTK data at import
    from lm_eval.tasks.ifeval.utils import agg_inst_level_acc, process_results

    docs = _rows()
    assert len(docs) == len(PREDICTIONS)
    theirs = [process_results(doc, [pred]) for doc, pred in zip(docs, PREDICTIONS)]
    expected = {
        "ifeval_prompt_strict": sum(t["prompt_level_strict_acc"] for t in theirs) / len(theirs),
        "ifeval_prompt_loose": sum(t["prompt_level_loose_acc"] for t in theirs) / len(theirs),
        "ifeval_inst_strict": agg_inst_level_acc([t["inst_level_strict_acc"] for t in theirs]),
        "ifeval_inst_loose": agg_inst_level_acc([t["inst_level_loose_acc"] for t in theirs]),
    }
    # the predictions are not all right or all wrong, and loose differs from strict somewhere
    assert 0 < expected["ifeval_prompt_strict"] < expected["ifeval_prompt_loose"] < 1
    assert 0 < expected["ifeval_inst_strict"] < expected["ifeval_inst_loose"] < 1

    scorer = get_scorer("ifeval")
    samples = [SampleRecord(prompt=[{"role": "user", "content": d["prompt"]}], prediction=p, reference="",
                            task="ifeval_demo",
                            meta={"instruction_id_list": d["instruction_id_list"], "kwargs": d["kwargs"]})
               for d, p in zip(docs, PREDICTIONS)]
    res = scorer.score_detailed(samples)
    for k, t in enumerate(theirs):  # per prompt, too
        assert res.details[k]["strict"] == t["inst_level_strict_acc"]
        assert res.details[k]["loose"] == t["inst_level_loose_acc"]
    # through the eval stage's aggregation, as results rows
    records = [SampleRecord([], "", "", model="m", suite="held_out", task="ifeval_demo", sample_id=str(k),
                            scores={o: res.values[o][k] for o in res.values}, judge={"ifeval": res.details[k]})
               for k in range(len(docs))]
    rows = {r["scorer"]: r for r in aggregate_rows(records, scorer.outputs(), n_boot=0) if r["task"] == "__all__"}
    for name, value in expected.items():
        assert rows[name]["mean"] == pytest.approx(value), name
    n_instructions = sum(len(d["instruction_id_list"]) for d in docs)
    assert rows["ifeval_inst_strict"]["n"] == n_instructions and rows["ifeval_prompt_strict"]["n"] == len(docs)


def test_ifeval_scorer_skips_rows_without_instructions_and_names_bad_ids():
    from iftkit.core.errors import IftkitError

    scorer = get_scorer("ifeval")
    plain = SampleRecord(prompt=[{"role": "user", "content": "hi"}], prediction="hello", reference="")
    assert scorer.score_detailed([plain]).values["ifeval_prompt_strict"] == [None]
    bad = SampleRecord(prompt=[{"role": "user", "content": "hi"}], prediction="hello", reference="",
                 meta={"instruction_id_list": ["punctuation:no_semicolon"], "kwargs": [{}]})
    with pytest.raises(IftkitError, match="unknown instruction id"):
        scorer.score_detailed([bad])
