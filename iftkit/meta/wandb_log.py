"""Log the meta-eval table, verdicts and charts to W&B through iftkit.tracking (when it exists)."""

from typing import Optional

from iftkit import tracking
from iftkit.config.schema import Recipe
from iftkit.meta.findings import COLUMNS


def log_meta_eval(
    payload: dict, recipe=None, images=(), html_text: Optional[str] = None, name: str = "meta-eval"
) -> str:
    """Return a one-line status: where the run went, or why nothing was logged."""
    import wandb

    if recipe is None:
        recipe = Recipe()
    config = {"meta_eval": {"reference": payload["reference"], "records": payload["records"]}}
    run = tracking.init_run(recipe, name=name, job_type="meta-eval", config=config)
    if run is None:
        return "W&B: disabled by the recipe's tracking.mode"
    columns = ["scorer"] + [k for k, _ in COLUMNS] + ["verdict"]
    table = wandb.Table(columns=columns)
    flat = {}
    for s in payload["scorers"]:
        verdict = payload["verdicts"][s["scorer"]]["sentence"]
        table.add_data(s["scorer"], *[s[k]["value"] for k, _ in COLUMNS], verdict)
        for k, _ in COLUMNS:
            if s[k]["value"] is not None:
                flat[f"meta_eval/{s['scorer']}/{k}"] = s[k]["value"]
    data = {"meta_eval/table": table, **flat}
    for name_, p in payload.get("pairwise", {}).items():
        for key in ("agreement_both_orders", "first_slot_rate", "longer_chosen_rate"):
            if p[key]["value"] is not None:
                data[f"meta_eval/{name_}/{key}"] = p[key]["value"]
    for img in images:
        data[f"meta_eval/{img.stem}"] = wandb.Image(str(img))
    if html_text:
        data["meta_eval/report"] = wandb.Html(html_text)
    run.log(data)
    where = getattr(run, "dir", "") or ""
    mode = getattr(getattr(run, "settings", None), "mode", "")
    run.finish()
    return f"W&B: logged run {run.id} ({mode}) {where}".rstrip()
