"""What the benchmarks divide by, measured in the same run: matmul peak, copy bandwidth, the CPU."""

import time
from pathlib import Path


def matmul_peak(dtype_name: str, n: int = 2048, reps: int = 6, clock=time.perf_counter) -> float:
    """FLOP/s of the best of `reps` n x n matmuls (clock: time.process_time to count CPU time only)."""
    import torch

    dtype = getattr(torch, dtype_name)
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    best = float("inf")
    for _ in range(reps):
        t = clock()
        a @ b
        best = min(best, clock() - t)
    return 2 * n**3 / best


def copy_bandwidth(mbytes: int = 512, reps: int = 5, clock=time.perf_counter) -> float:
    """Bytes/s moved by the best of `reps` copies of a buffer far larger than the caches (read + write)."""
    import torch

    src = torch.ones(mbytes * 2**20, dtype=torch.uint8)
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = float("inf")
    for _ in range(reps):
        t = clock()
        dst.copy_(src)
        best = min(best, clock() - t)
    return 2 * src.numel() / best


def cpu_name() -> str:
    info = Path("/proc/cpuinfo")
    if not info.exists():
        return "?"
    return next((ln.split(":", 1)[1].strip() for ln in info.read_text().splitlines() if ln.startswith("model name")),
                "?")


def has_fast_bf16() -> bool:
    """bf16 matmuls in hardware: a CUDA GPU with bf16, or a CPU with AVX512-BF16 or AMX."""
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    info = Path("/proc/cpuinfo")
    flags = info.read_text() if info.exists() else ""
    return "avx512_bf16" in flags or "amx_bf16" in flags
