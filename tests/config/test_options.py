"""Each recipe section's model lives in config/options/, in the module of the component that reads it; the
schema composes them into the Recipe and still exports every one of them."""

import importlib
import inspect
import subprocess
import sys

from pydantic import BaseModel

from iftkit.config import schema

# section model -> the options module that owns it (config/options/<module>.py)
OWNER = {
    "ModelConfig": "model", "QuantizationConfig": "model",
    "LoraConfig": "training", "TrainingConfig": "training",
    "DataConfig": "data", "SynthConfig": "data", "MixConfig": "data",
    "TrackingConfig": "tracking",
    "EvalConfig": "evaluation", "LmEvalConfig": "evaluation", "JudgeConfig": "judge",
    "SweepConfig": "sweep", "DecideConfig": "sweep", "EveryNSteps": "sweep",
}


def _section_models(model, found=None) -> dict:
    """Every pydantic model a Recipe nests, by class name."""
    found = {} if found is None else found
    for info in model.model_fields.values():
        kinds = [info.annotation, *getattr(info.annotation, "__args__", ())]
        for kind in kinds:
            for k in [kind, *getattr(kind, "__args__", ())]:
                if isinstance(k, type) and issubclass(k, BaseModel) and k.__name__ not in found:
                    found[k.__name__] = k
                    _section_models(k, found)
    return found


def test_every_section_model_is_owned_by_its_components_options_module():
    models = _section_models(schema.Recipe)
    assert set(models) == set(OWNER)
    for name, cls in models.items():
        assert cls.__module__ == f"iftkit.config.options.{OWNER[name]}", name


def test_the_schema_still_exports_what_other_code_imports_from_it():
    for name, owner in OWNER.items():
        assert getattr(schema, name) is getattr(importlib.import_module(f"iftkit.config.options.{owner}"), name)
    training = importlib.import_module("iftkit.config.options.training")
    for name in ("SFT_MANAGED", "passthrough_problem", "sft_config_fields"):
        assert getattr(schema, name) is getattr(training, name)


def test_field_comments_moved_with_their_fields():
    # the recipe reference is generated from the models' source comments
    quant = inspect.getsource(schema.QuantizationConfig)
    assert "# none: full-precision weights (LoRA); 4bit: bitsandbytes NF4 (QLoRA)" in quant
    judge = inspect.getsource(schema.JudgeConfig)
    assert "# circuit breaker: after this many connection failures in a row" in judge


def test_an_options_module_loads_no_heavy_package():
    modules = [f"iftkit.config.options.{m}" for m in sorted(set(OWNER.values()))] + ["iftkit.config.schema"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in modules)
            + "print(sorted(p for p in ('torch', 'transformers', 'trl', 'peft', 'numpy') if p in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
