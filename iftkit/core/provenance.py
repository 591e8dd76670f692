"""What produced a number: library versions and the hardware, recorded with every adapter card
and results row. The same recipe and seed give different digits on CPUs whose bf16 kernels
differ, so a result must say which machine made it."""

import importlib.metadata as md
import json
import platform
from functools import lru_cache

PACKAGES = ("iftkit", "torch", "transformers", "trl", "peft", "accelerate", "bitsandbytes", "datasets", "wandb")
# CPU features that change which matmul kernels (and so which low bits) torch uses
KERNEL_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile", "asimd", "sve")


def library_versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in PACKAGES:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = None
    return out


@lru_cache(maxsize=1)
def hardware() -> dict:
    cpu, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu in ("", platform.machine(), platform.processor()):
                    cpu = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
    except OSError:
        pass
    gpu = None
    try:
        import torch

        if torch.cuda.is_available():
            gpu = torch.cuda.get_device_name(0)
    except Exception:  # no torch, or a broken CUDA install: the CPU is still worth recording
        gpu = None
    return {"cpu": cpu, "kernel_flags": sorted(flags & set(KERNEL_FLAGS)), "gpu": gpu, "machine": platform.machine()}


@lru_cache(maxsize=1)
def provenance_line() -> str:
    """One compact string for results rows (hardware + versions)."""
    return json.dumps({"hardware": hardware(), "versions": library_versions()}, sort_keys=True)
