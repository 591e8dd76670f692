"""Optional vLLM backend (GPU machines): same greedy decoding and chat template, LoRA via
LoRARequest. Used only when eval.backend = vllm and vllm is installed."""

import importlib.util

from iftkit.errors import IftkitError


def generate_vllm(mut, model_cfg, prompts, max_new_tokens: int) -> list[str]:
    if importlib.util.find_spec("vllm") is None:
        raise IftkitError("eval.backend = vllm but vllm is not installed (pip install vllm, GPU only); use eval.backend=transformers")
    from vllm import LLM, SamplingParams
    from vllm.lora.request import LoRARequest

    llm = LLM(model=mut.base_path, enable_lora=bool(mut.adapter_path), dtype=model_cfg.dtype if model_cfg.dtype != "auto" else "auto")
    params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
    lora = LoRARequest(mut.label, 1, mut.adapter_path) if mut.adapter_path else None
    outs = llm.chat(prompts, params, lora_request=lora, add_generation_prompt=True, use_tqdm=True)
    return [o.outputs[0].text.strip() for o in outs]
