"""Which of the compared models to recommend, by one of two stated rules (every report prints them):

Rule 1 (no latency budget): among the models whose accuracy is not significantly below the most accurate model's
(paired test against that model), the cheapest to serve: the lowest batch-1 p50 latency at the reference sequence
length, ties broken by fewer parameters.

Rule 2 (with a latency budget): the most accurate model whose batch-1 p50 latency at the reference sequence length is
within the budget; when none is, no model is recommended and the fastest is named.

A model less accurate than the most accurate one passes Rule 1's accuracy test only when its `quality.vs_best` says
the difference is not significant; a model without that comparison does not pass. Under either rule a model without a
latency at the reference length ranks after those with one.
"""

from __future__ import annotations

RULE_ACCURACY_THEN_LATENCY = (
    "Rule 1 (no latency budget): among the models whose accuracy is not significantly below the most accurate "
    "model's (paired test against that model), the cheapest to serve: the lowest batch-1 p50 latency at the "
    "reference sequence length, ties broken by fewer parameters.")
RULE_LATENCY_BUDGET = (
    "Rule 2 (with a latency budget): the most accurate model whose batch-1 p50 latency at the reference sequence "
    "length is within the budget; when none is, no model is recommended and the fastest is named.")
RULES = (RULE_ACCURACY_THEN_LATENCY, RULE_LATENCY_BUDGET)


def recommend(metrics, latency_budget_ms=None):
    """The recommended model and the numbers behind it, by Rule 1, or by Rule 2 when a budget is given.

    Args:
        metrics: the comparison's metrics dict (`encoders-tf compare`): "models" with "quality", "cost" and
            "serving", and "reference_length".
        latency_budget_ms: the most batch-1 p50 latency (ms) at the reference length that serving can afford.

    Returns:
        {"model": name or None, "rule": the rule's text, "reason": one sentence with the numbers,
        "candidates": names that passed the rule's test (Rule 1: accuracy; Rule 2: the budget)}.

    >>> def model(name, accuracy, vs_best, p50_ms, parameters):
    ...     return {"name": name, "quality": {"accuracy": {"value": accuracy, "low": accuracy - 0.03,
    ...             "high": accuracy + 0.03}, "vs_best": vs_best}, "cost": {"parameters": parameters},
    ...             "serving": {"batch1": {"64": {"p50_ms": p50_ms}}}}
    >>> metrics = {"reference_length": 64, "models": [
    ...     model("lstm", 0.83, {"difference": -0.02, "p_value": 0.2, "significant": False}, 2.0, 1_100_000),
    ...     model("transformer", 0.85, None, 5.0, 4_400_000)]}
    >>> recommend(metrics)["model"], recommend(metrics, latency_budget_ms=10)["model"]
    ('lstm', 'transformer')
    """
    models = metrics["models"]
    if not models:
        raise ValueError("metrics has no models to recommend from")
    length = metrics["reference_length"]
    if latency_budget_ms is None:
        return _by_accuracy_then_latency(models, length)
    return _by_latency_budget(models, length, latency_budget_ms)


def p50_latency_ms(model, length):
    """The model's batch-1 p50 latency (ms) at `length` tokens, or None when it was not measured.

    >>> p50_latency_ms({"serving": {"batch1": {"64": {"p50_ms": 2.1, "p99_ms": 3.0}}}}, 64)
    2.1
    >>> p50_latency_ms({"serving": {"batch1": {"64": None}}}, 64) is None
    True
    """
    figures = ((model.get("serving") or {}).get("batch1") or {}).get(str(length)) or {}
    return figures.get("p50_ms")


def _by_accuracy_then_latency(models, length):
    best_accuracy = max(_accuracy(model) for model in models)
    best = max(models, key=lambda model: (_accuracy(model), model["quality"].get("vs_best") is None))
    candidates = [model for model in models
                  if _accuracy(model) == best_accuracy or _not_significantly_below_best(model)]
    chosen = min(candidates, key=lambda model: (*_latency_key(model, length), *_parameters_key(model)))
    if _accuracy(chosen) == best_accuracy:
        standing = "the most accurate model"
    else:
        vs_best = chosen["quality"]["vs_best"]
        standing = (f"not significantly below the most accurate, {best['name']} at {_accuracy_text(best)} "
                    f"(difference {vs_best['difference']:+.3f}, p = {vs_best['p_value']:.3g})")
    reason = (f"{chosen['name']} ({_figures_text(chosen, length)}) is {standing}, and the cheapest to serve of "
              f"the {len(candidates)} model(s) that are not significantly less accurate.")
    return {"model": chosen["name"], "rule": RULE_ACCURACY_THEN_LATENCY, "reason": reason,
            "candidates": [model["name"] for model in candidates]}


def _by_latency_budget(models, length, budget_ms):
    within = [model for model in models
              if p50_latency_ms(model, length) is not None and p50_latency_ms(model, length) <= budget_ms]
    if not within:
        fastest = min(models, key=lambda model: (*_latency_key(model, length), *_parameters_key(model)))
        reason = (f"No model's batch-1 p50 latency at {length} tokens is within the {budget_ms:g} ms budget; "
                  f"the fastest is {fastest['name']} ({_figures_text(fastest, length)}).")
        return {"model": None, "rule": RULE_LATENCY_BUDGET, "reason": reason, "candidates": []}
    chosen = min(within, key=lambda model: (-_accuracy(model), p50_latency_ms(model, length),
                                            *_parameters_key(model)))
    reason = (f"{chosen['name']} ({_figures_text(chosen, length)}) is the most accurate of the {len(within)} "
              f"model(s) within the {budget_ms:g} ms budget at {length} tokens.")
    return {"model": chosen["name"], "rule": RULE_LATENCY_BUDGET, "reason": reason,
            "candidates": [model["name"] for model in within]}


def _accuracy(model):
    return model["quality"]["accuracy"]["value"]


def _not_significantly_below_best(model):
    vs_best = model["quality"].get("vs_best")
    return vs_best is not None and not vs_best["significant"]


def _latency_key(model, length):
    """Sorts measured latencies first, fastest first."""
    latency = p50_latency_ms(model, length)
    return (latency is None, latency if latency is not None else 0.0)


def _parameters_key(model):
    parameters = (model.get("cost") or {}).get("parameters")
    return (parameters is None, parameters if parameters is not None else 0)


def _accuracy_text(model):
    accuracy = model["quality"]["accuracy"]
    return f"{accuracy['value']:.3f} [{accuracy['low']:.3f}, {accuracy['high']:.3f}]"


def _figures_text(model, length):
    latency = p50_latency_ms(model, length)
    parameters = (model.get("cost") or {}).get("parameters")
    latency_text = "n/a" if latency is None else f"{latency:.2f} ms"
    parameters_text = "n/a" if parameters is None else f"{parameters:,}"
    return (f"accuracy {_accuracy_text(model)}, batch-1 p50 latency at {length} tokens {latency_text}, "
            f"{parameters_text} parameters")
