"""How many rows of each pool a mix takes: by ratio of a fixed total, or n target rows by count.

Pure arithmetic on pool sizes (no rows), so the own-task sweep can size itself to a file with the
same rules the mix is built with.
"""

from dataclasses import dataclass

from iftkit.core.errors import IftkitError


@dataclass(frozen=True)
class MixSizes:
    mode: str  # "ratio" or "count"
    target: int
    general: int
    synthetic: int
    val_target: int
    val_general: int

    @property
    def total(self) -> int:
        return self.target + self.general + self.synthetic


def general_val_reserve(val_size: int, n_general: int) -> int:
    """General rows set aside for validation before any training row is drawn (at most a fifth of the pool)."""
    return min(val_size, max(0, n_general // 5))


def target_val_rows(n_target: int, n_general: int, n_synthetic: int, val_size: int) -> int:
    """Validation rows drawn from the target pool: the target share of the training mix, of val_size."""
    total = n_target + n_general + n_synthetic
    return int(round(val_size * ((n_target + n_synthetic) / total))) if total else 0


def mix_sizes(mix, target_task: str, target_pool: int, general_pool: int, general_val: int,
              synthetic_pool: int) -> MixSizes:
    """The rows a mix takes from pools of these sizes (general_pool: after its validation reserve of
    general_val rows); a pool too small for what the recipe asks is a one-line error."""
    n_s = mix.synthetic_format_count
    if n_s > synthetic_pool:
        raise IftkitError(
            f"mix.synthetic_format_count={n_s} but only {synthetic_pool} synthetic target-format rows exist"
        )
    if mix.target_count is not None:
        mode, n_t, n_g = "count", mix.target_count, general_pool
        if mix.general_count is not None:
            if mix.general_count > n_g:
                raise IftkitError(
                    f"mix.general_count={mix.general_count} but the general pool has {n_g} rows "
                    f"(raise data.samples_per_task or lower mix.general_count)"
                )
            n_g = mix.general_count
    else:
        mode = "ratio"
        n_t = int(round(mix.target_ratio * mix.total_size))
        n_g = mix.total_size - n_t - n_s
        if n_g < 0:
            raise IftkitError(
                f"mix.total_size={mix.total_size} is smaller than the {n_t} target + {n_s} "
                f"synthetic target-format rows asked for"
            )
        if n_g > general_pool:
            raise IftkitError(
                f"mix by ratio needs {n_g} general rows but the general pool has "
                f"{general_pool} (raise data.samples_per_task or lower mix.total_size)"
            )
    n_val_t = target_val_rows(n_t, n_g, n_s, mix.val_size)
    if n_t + n_val_t > target_pool:
        raise IftkitError(
            f"the target pool of {target_task!r} has {target_pool} rows: not enough for "
            f"{n_t} training + {n_val_t} validation rows (raise data.samples_per_task or "
            f"give more data.target_files)"
        )
    return MixSizes(mode, n_t, n_g, n_s, n_val_t, min(mix.val_size - n_val_t, general_val))
