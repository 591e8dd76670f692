"""scripts/setup_torch.sh (`make setup`'s torch choice), run against a fake nvidia-smi and a fake venv python."""

import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "setup_torch.sh"

# the venv's python: answers torch's version / CUDA checks from state files (shell builtins only: PATH
# holds nothing but the fakes), records pip installs
FAKE_PY = """#!/bin/sh
state={state}
if [ "$1" = "-m" ]; then echo "$*" >> {log}; echo "$CUDA_AFTER_INSTALL" > $state/cuda; \
echo "$INSTALLED_VERSION" > $state/version; exit 0; fi
read -r cuda < $state/cuda
read -r version < $state/version
case "$2" in
  *cuda.is_available*) [ "$cuda" = 1 ] ;;
  *__version__*) case "$2" in *"'$version'"*) exit 0;; *) exit 1;; esac ;;
  *) exit 2 ;;
esac
"""


def run(tmp_path, gpu, cuda_now, version_now="2.13.0", cuda_after="1", installed="2.13.0", env=None):
    """Run the script with PATH holding only the fakes; return (exit code, pip calls, stderr)."""
    bin_dir, state = tmp_path / "bin", tmp_path / "state"
    bin_dir.mkdir(parents=True)
    state.mkdir(parents=True)
    (state / "cuda").write_text("1" if cuda_now else "0")
    (state / "version").write_text(version_now)
    log = tmp_path / "pip.log"
    py = bin_dir / "python"
    py.write_text(FAKE_PY.format(state=state, log=log))
    if gpu is not None:  # gpu None: no nvidia-smi at all
        smi = bin_dir / "nvidia-smi"
        smi.write_text("#!/bin/sh\n" + ("echo 'GPU 0: NVIDIA H100'\n" if gpu else "exit 9\n"))
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    proc = subprocess.run(
        ["/bin/sh", str(SCRIPT), str(py)],
        env={"PATH": str(bin_dir), "CUDA_AFTER_INSTALL": cuda_after, "INSTALLED_VERSION": installed, **(env or {})},
        capture_output=True, text=True,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc.returncode, calls, proc.stderr


def test_gpu_with_a_cuda_torch_keeps_it(tmp_path):
    assert run(tmp_path, gpu=True, cuda_now=True)[:2] == (0, [])


def test_gpu_with_a_cpu_torch_reinstalls_a_cuda_build_over_it(tmp_path):
    rc, calls, _ = run(tmp_path, gpu=True, cuda_now=False)
    assert rc == 0 and calls == ["-m pip install -q --force-reinstall torch"]


def test_gpu_install_choice_can_be_named(tmp_path):
    rc, calls, _ = run(tmp_path, gpu=True, cuda_now=False, env={"TORCH_CUDA": "torch==2.13.0"})
    assert rc == 0 and calls == ["-m pip install -q --force-reinstall torch==2.13.0"]


def test_gpu_but_the_installed_torch_sees_none_stops_with_what_to_set(tmp_path):
    rc, calls, err = run(tmp_path, gpu=True, cuda_now=False, cuda_after="0")
    assert rc == 1 and len(calls) == 1 and "TORCH_CUDA" in err


@pytest.mark.parametrize("gpu", [None, False])  # no nvidia-smi; nvidia-smi listing no GPU
def test_no_gpu_keeps_or_installs_the_cpu_build(tmp_path, gpu):
    assert run(tmp_path / "keep", gpu=gpu, cuda_now=False)[:2] == (0, [])
    rc, calls, _ = run(tmp_path / "install", gpu=gpu, cuda_now=False, version_now="2.4.0")
    assert rc == 0 and calls == ["-m pip install -q torch==2.13.0"]


def test_the_gpu_shell_scripts_pass_shellcheck():
    import sys

    shellcheck = Path(sys.executable).parent / "shellcheck"
    scripts = [SCRIPT, SCRIPT.parent / "gpu_check.sh"]
    lint = subprocess.run([str(shellcheck), *map(str, scripts)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout + lint.stderr
