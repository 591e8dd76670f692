"""The typed shape of a recipe: one pydantic model per section, unknown keys refused.

Every field has a default so a recipe only states what differs; ranges live here so a bad
value is refused before any model loads. Each section's model lives in config/options/, in the
module named for the component that reads it; this module composes them into the Recipe and
re-exports them (`from iftkit.config.schema import ModelConfig` keeps working).
"""

from pydantic import Field, field_validator, model_validator

from iftkit.config.options.base import Section, checked_name
from iftkit.config.options.data import DataConfig, MixConfig, SynthConfig
from iftkit.config.options.evaluation import EvalConfig, LmEvalConfig
from iftkit.config.options.judge import JudgeConfig
from iftkit.config.options.model import ModelConfig, QuantizationConfig
from iftkit.config.options.sweep import DecideConfig, EveryNSteps, SweepConfig
from iftkit.config.options.tracking import TrackingConfig
from iftkit.config.options.training import (
    SFT_MANAGED,
    LoraConfig,
    TrainingConfig,
    passthrough_problem,
    sft_config_fields,
)

__all__ = ["SFT_MANAGED", "DataConfig", "DecideConfig", "EvalConfig", "EveryNSteps", "JudgeConfig", "LmEvalConfig",
           "LoraConfig", "MixConfig", "ModelConfig", "QuantizationConfig", "Recipe", "Section", "SweepConfig",
           "SynthConfig", "TrackingConfig", "TrainingConfig", "passthrough_problem", "sft_config_fields"]


class Recipe(Section):
    name: str = "experiment"
    description: str = ""
    model: ModelConfig = Field(default_factory=ModelConfig)
    lora: LoraConfig = Field(default_factory=LoraConfig)
    data: DataConfig = Field(default_factory=DataConfig)
    mix: MixConfig = Field(default_factory=lambda: MixConfig(target_ratio=0.5))
    training: TrainingConfig = Field(default_factory=TrainingConfig)
    tracking: TrackingConfig = Field(default_factory=TrackingConfig)
    eval: EvalConfig = Field(default_factory=EvalConfig)
    sweep: SweepConfig = Field(default_factory=SweepConfig)

    @field_validator("name")
    @classmethod
    def _name_names_folders(cls, v):
        return checked_name(v)

    @model_validator(mode="after")
    def _scales_need_a_scaling_backend(self):
        if self.sweep.extra_scales and self.eval.backend == "vllm":
            raise ValueError(
                "sweep.adapter_scales: vLLM cannot run a LoRA adapter at a fraction of its strength; "
                "use eval.backend: transformers, or adapter_scales: [1.0]"
            )
        return self

    @model_validator(mode="after")
    def _checkpoints_need_known_steps(self):
        if self.sweep.checkpoints is None:
            return self
        if self.sweep.extra_scales:
            raise ValueError(
                "sweep.checkpoints and sweep.adapter_scales: a sweep scores one extra axis per adapter (both are "
                "paths from the base model to the adapter as trained); run the scales in a second sweep of the "
                "same recipe with --sweep.checkpoints null"
            )
        last = self.training.max_steps
        if last <= 0:
            raise ValueError(
                "sweep.checkpoints: needs training.max_steps (the steps to keep must be known before training)"
            )
        late = [s for s in (self.sweep.checkpoints if isinstance(self.sweep.checkpoints, list) else []) if s > last]
        if late:
            raise ValueError(f"sweep.checkpoints: step(s) {late} come after training.max_steps = {last}")
        if not self.sweep.checkpoint_steps(last):
            raise ValueError(f"sweep.checkpoints: no step below training.max_steps = {last} to keep")
        return self
