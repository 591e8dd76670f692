"""Sweep options (recipe section `sweep`): read by sweep/ and report/."""

from typing import Literal, Optional, Union

from pydantic import Field, model_validator

from iftkit.config.options.base import Section


class EveryNSteps(Section):
    every: int = Field(gt=0)


class DecideConfig(Section):
    """`iftkit sweep decide`: after the planned cells, add cells only where a pick is still open."""

    # cells decide may add over all its rounds (a training seed each, or one intermediate ratio)
    max_cells: int = Field(4, ge=0)
    # rounds of adding cells and looking again; every confidence word is then tested at
    # 0.05 / (max_rounds + 1), so the false-lead rate over all looks stays <= 5 %
    max_rounds: int = Field(2, ge=1)


class SweepConfig(Section):
    """A grid of cells; each cell is the recipe with one value per grid key applied."""

    # dotted recipe key -> values, e.g. {"mix.target_ratio": [0.0, 0.1, 0.5, 1.0]}
    grid: dict[str, list] = Field(default_factory=dict)
    # each seed sets training.seed and mix.seed of a cell; spread across seeds = error bars
    seeds: list[int] = Field(default_factory=lambda: [0])
    # S1 recommendation: best in-domain among cells keeping >= this share of base general score
    keep_general: float = Field(0.95, gt=0.0, le=1.0)
    # "as good" / "would save N % of the training" need an equivalence test (TOST) at this margin, in the
    # primary scorer's units; null = 2 % of its declared scale (0.02 on [0, 1], 0.2 on a 0-10 judge)
    equivalence_margin: Optional[float] = Field(None, gt=0.0)
    # the power plan's target: the difference (in each axis's scorer units) the sweep should detect at 80 % power;
    # the plan printed before training says how many prompts or seeds would reach it. null = 3 % of the scorer's
    # declared scale (0.03 on [0, 1], 0.3 on a 0-10 judge); an unbounded scale then names no target
    power_target: Optional[float] = Field(None, gt=0.0)
    # scorer whose means drive the chart's axes and the recommendation
    primary_scorer: str = "task_tolerant"
    # --- the general axis: which general ability the chart's x axis and S1's
    # keep_general rule read. held_out = suites no training row touched (the instruction set,
    # lm-eval tasks); trained = the catalog families' test rows (suite general), which the mix trains
    general_kind: Literal["held_out", "trained"] = "held_out"
    # "SUITE:SCORER" or "SCORER" on that axis, e.g. "lm_eval/iftkit_ifeval:prompt_level_strict_acc",
    # "held_out:rougeL"; None = the first held-out benchmark (or trained-family primary scorer)
    general_scorer: Optional[str] = None
    # each trained adapter is also evaluated with its LoRA deltas times these multipliers (WiSE-FT:
    # weight-space interpolation between base and adapter; generation only, no training). 1.0 = the
    # adapter as trained, always evaluated; e.g. [0.25, 0.5, 0.75, 1.0] adds three points per cell
    adapter_scales: list[float] = Field(default_factory=lambda: [1.0])
    # training checkpoints scored as points of their own, on the same suites (a third axis: how far
    # training got): a list of optimizer steps, e.g. [5, 10, 20], or {every: 5}; each must be below
    # training.max_steps (the final step is the adapter as trained, always scored). null = none
    checkpoints: Optional[Union[list[int], EveryNSteps]] = None
    # a cell's final adapter and kept checkpoints waiting to be scored generate their answers in shared
    # batches over one loaded base model (PEFT mixed-adapter batches, evaluation/together.py): the same
    # answers as one adapter at a time, one load; false = one adapter at a time (changes no result)
    mixed_adapters: bool = True
    # where sweeps write: <out_dir>/<recipe name>/ (the name as a file name: core/paths.safe_name)
    out_dir: str = "runs"
    # inprocess: train/eval in this process; accelerate: `accelerate launch -m iftkit train` per cell
    launcher: Literal["inprocess", "accelerate"] = "inprocess"
    accelerate_config: Optional[str] = None
    # `iftkit sweep decide`: extra seeds where a pick is undetermined, within a budget (changes no cell's result)
    decide: DecideConfig = Field(default_factory=DecideConfig)

    @model_validator(mode="after")
    def _grid_keys_are_dotted(self):
        for key, values in self.grid.items():
            if "." not in key:
                raise ValueError(f"sweep.grid key {key!r} must be a dotted recipe key like mix.target_ratio")
            if not values:
                raise ValueError(f"sweep.grid.{key} needs at least one value")
        if not self.seeds:
            raise ValueError("sweep.seeds needs at least one seed")
        for s in self.adapter_scales:
            if not 0.0 < s <= 1.0:
                raise ValueError(
                    f"sweep.adapter_scales: {s} is outside (0, 1] (0 would be the base model, already evaluated)"
                )
        if len(set(self.adapter_scales)) < len(self.adapter_scales):
            raise ValueError(f"sweep.adapter_scales: {self.adapter_scales} repeats a value")
        if isinstance(self.checkpoints, list) and (
            any(s <= 0 for s in self.checkpoints) or len(set(self.checkpoints)) < len(self.checkpoints)
        ):
            raise ValueError(f"sweep.checkpoints: expected distinct positive step numbers, got {self.checkpoints}")
        return self

    def checkpoint_steps(self, max_steps: int) -> list[int]:
        """The steps kept and scored besides the final one (max_steps), ascending."""
        if self.checkpoints is None:
            return []
        if isinstance(self.checkpoints, EveryNSteps):
            return list(range(self.checkpoints.every, max_steps, self.checkpoints.every))
        return sorted(s for s in self.checkpoints if s != max_steps)

    @property
    def extra_scales(self) -> list[float]:
        """The adapter scales evaluated besides the adapter as trained (1.0), ascending."""
        return sorted(s for s in self.adapter_scales if s != 1.0)
