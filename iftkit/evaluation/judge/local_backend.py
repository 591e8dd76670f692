"""Judge with a local transformers model (default: the recipe's base model, a weak judge:
a 135M model's grades say little; use an HTTP judge for conclusions)."""

from iftkit.models.chat_http import Completion


class LocalJudgeBackend:
    weak = True

    def __init__(self, model_cfg, model_path: str, max_tokens: int = 48, batch_size: int = 8, progress: bool = True):
        self.model_cfg, self.model_path = model_cfg, model_path
        self.max_tokens, self.batch_size, self.progress = max_tokens, batch_size, progress
        self._model = self._tok = None

    def identity(self) -> dict:
        from iftkit.evaluation.fingerprint import model_fingerprint

        return {"backend": "local", "model": model_fingerprint(self.model_path), "max_tokens": self.max_tokens,
                "decoding": "greedy"}

    def complete_many(self, prompts, on_done=None) -> list[Completion]:
        from iftkit.evaluation.generation import count_tokens, generate_batched
        from iftkit.models.generate import chat_prompt_text
        from iftkit.models.load import load_model, load_tokenizer

        if self._model is None:
            self._tok = load_tokenizer(self.model_path)
            self._model = load_model(self.model_cfg, path=self.model_path).eval()
        out = []

        def keep(idx, texts):
            for i, t in zip(idx, texts):
                c = Completion(t, prompt_tokens=count_tokens(self._tok, [chat_prompt_text(self._tok, prompts[i])]),
                               completion_tokens=count_tokens(self._tok, [t]))
                out.append((i, c))
                if on_done:
                    on_done(i, c)

        generate_batched(self._model, self._tok, prompts, self.max_tokens, self.batch_size, self.progress,
                         desc="judge (local, weak)", on_batch=keep)
        return [c for _, c in sorted(out, key=lambda x: x[0])]
