"""The documented accelerate configs load with accelerate's own parser and say what they claim."""

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file

CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "accelerate"


@pytest.mark.parametrize("name,kind,procs", [("single_gpu", "NO", 1), ("multi_gpu_ddp", "MULTI_GPU", 4),
                                              ("fsdp", "FSDP", 4), ("cpu_ddp", "MULTI_GPU", 2)])
def test_config_parses(name, kind, procs):
    path = CONFIGS / f"{name}.yaml"
    assert path.read_text().startswith("# Run: accelerate launch --config_file recipes/accelerate/")
    cfg = load_config_from_file(str(path))
    assert cfg.distributed_type.value == kind and cfg.num_processes == procs
    assert cfg.use_cpu == (name == "cpu_ddp")
