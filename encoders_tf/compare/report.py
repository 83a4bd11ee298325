"""The comparison report of `encoders-tf compare`: report.md, a self-contained report.html (CSS inline, plots embedded
as base64 PNG), the plots as PNG files, and a summary table for the terminal.

Plots are drawn on `matplotlib.figure.Figure` objects with the Agg canvas, never through pyplot: nothing changes the
process's backend, no window opens, no figure stays registered, and PNG files carry no software or date metadata, so
the same metrics give the same bytes.
"""

from __future__ import annotations

import base64
import html
import itertools
import pathlib
import textwrap

import numpy as np
from matplotlib.figure import Figure

from encoders_tf.compare.recommend import RULES, p50_latency_ms, recommend

TERMINAL_WIDTH = 120
_NOT_AVAILABLE = "n/a"
_CSS = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
table { border-collapse: collapse; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; }
th { background: #f3f3f3; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; }
figcaption { font-style: italic; }
""".strip()


def write_report(metrics, out_dir, latency_budget_ms=None):
    """Writes report.md, report.html and one PNG per plot into `out_dir`.

    Args:
        metrics: the comparison's metrics dict (see `encoders-tf compare`).
        out_dir: the directory to write into (created if needed).
        latency_budget_ms: passed to `recommend`: with a budget, Rule 2 picks the model.

    Returns:
        {file name: path} of every file written.

    Example (with `metrics` from the comparison driver)::

        write_report(metrics, "runs/compare/report")["report.html"]
    """
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths, figures = {}, []
    for file_name, draw in _PLOTS:
        figure = Figure(figsize=(7.5, 4.5), layout="constrained")
        caption = draw(figure.add_subplot(), metrics)
        paths[file_name] = out_dir / file_name
        figure.savefig(paths[file_name], format="png", dpi=100, metadata={"Software": None})
        figures.append((file_name, caption))
    blocks = _report_blocks(metrics, recommend(metrics, latency_budget_ms), figures)
    paths["report.md"] = out_dir / "report.md"
    paths["report.md"].write_text(_markdown(blocks), encoding="utf-8")
    paths["report.html"] = out_dir / "report.html"
    paths["report.html"].write_text(_html(blocks, out_dir), encoding="utf-8")
    return paths


def summary_table(metrics):
    """The key figures of each model as a fixed-width plain-text table for the terminal, at most 120 characters wide
    (long model names are cut to fit).

    Args:
        metrics: the comparison's metrics dict.

    >>> metrics = {"reference_length": 64, "models": [{"name": "lstm", "quality": {
    ...     "accuracy": {"value": 0.83, "low": 0.8, "high": 0.85}, "macro_f1": None, "vs_first": None},
    ...     "cost": {"parameters": 1_100_000}, "serving": {}}]}
    >>> print(summary_table(metrics).splitlines()[1])
    lstm      0.830 [0.800, 0.850]       n/a  baseline    1.1M        n/a      n/a     n/a       n/a      n/a
    """
    length = metrics["reference_length"]
    header = ["model", "accuracy [95% CI]", "macro-F1", "vs first", "params", "FLOPs/tok", "train s", "p50 ms",
              "ex/s b64", "peak MB"]
    rows = []
    for index, model in enumerate(metrics["models"]):
        cost = model.get("cost") or {}
        rows.append([model["name"], _interval_text(model["quality"]["accuracy"]),
                     _value_text(model["quality"].get("macro_f1")),
                     _terminal_comparison(model["quality"].get("vs_first"), index == 0),
                     _si(cost.get("parameters")), _si(cost.get("flops_per_token")),
                     _number(cost.get("train_seconds"), ".1f"), _number(p50_latency_ms(model, length), ".2f"),
                     _number(_throughput(model, length), ",.0f"), _number(cost.get("peak_memory_mb"), ".0f")])
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
    widths[0] = max(8, min(widths[0], TERMINAL_WIDTH - sum(widths[1:]) - 2 * (len(widths) - 1)))
    lines = ["  ".join(_fit(cell, width, align_right=column > 0)
                       for column, (cell, width) in enumerate(zip(row, widths))) for row in [header, *rows]]
    first = metrics["models"][0]["name"]
    legend = (f"vs first: accuracy difference from {first} and its paired-test p-value, * when significant. "
              f"p50 ms: batch 1 at {length} tokens; ex/s b64: examples/s at batch 64 and {length} tokens.")
    return "\n".join([*lines, *textwrap.wrap(legend, TERMINAL_WIDTH)])


def crossing_length(lengths, latencies_a, latencies_b):
    """The first sequence length at which the two latency curves cross, or None when they do not.

    Between two measured lengths the curves are taken as straight lines (linear interpolation); lengths where
    either latency is missing (None) are skipped, and curves that touch without changing order do not cross.

    Args:
        lengths: the measured sequence lengths.
        latencies_a: model a's latency at each length (None when not measured).
        latencies_b: model b's latency at each length.

    >>> crossing_length([32, 64, 128], [1.0, 2.0, 6.0], [2.0, 3.0, 4.0])  # a - b: -1, -1, +2 -> 64 + 64/3
    85.33...
    >>> crossing_length([32, 64, 128], [1.0, 3.0, 5.0], [2.0, 3.0, 6.0]) is None  # touch at 64, a stays faster
    True
    """
    measured_lengths, a, b = _measured_together(lengths, latencies_a, latencies_b)
    gaps = a - b
    unequal = np.flatnonzero(gaps != 0)
    for before, after in zip(unequal[:-1], unequal[1:]):
        if np.sign(gaps[before]) != np.sign(gaps[after]):
            if after > before + 1:  # equal at the measured lengths between
                return float(measured_lengths[before + 1])
            step = measured_lengths[after] - measured_lengths[before]
            return float(measured_lengths[before] + step * gaps[before] / (gaps[before] - gaps[after]))
    return None


def _measured_together(lengths, latencies_a, latencies_b):
    """(lengths, a, b) as float arrays, sorted by length, of the lengths where both latencies were measured."""
    points = sorted((length, a, b) for length, a, b in zip(lengths, latencies_a, latencies_b)
                    if a is not None and b is not None)
    return tuple(np.array([point[column] for point in points], dtype=float) for column in range(3))


def _latency_crossings(metrics):
    """[{"models": (a, b), "length", "latency_ms", "faster_below"}] for each pair of models whose batch-1 p50
    latency curves cross."""
    lengths = metrics["lengths"]
    curves = {model["name"]: [p50_latency_ms(model, length) for length in lengths] for model in metrics["models"]}
    crossings = []
    for name_a, name_b in itertools.combinations(curves, 2):
        length = crossing_length(lengths, curves[name_a], curves[name_b])
        if length is not None:
            measured_lengths, a, b = _measured_together(lengths, curves[name_a], curves[name_b])
            first_unequal = np.flatnonzero(a != b)[0]
            crossings.append({"models": (name_a, name_b), "length": length,
                              "latency_ms": float(np.interp(length, measured_lengths, a)),
                              "faster_below": name_a if a[first_unequal] < b[first_unequal] else name_b})
    return crossings


def _crossings_text(metrics):
    """Where the batch-1 p50 latency curves cross, as the end of a sentence."""
    crossings = _latency_crossings(metrics)
    if not crossings:
        lengths = metrics["lengths"]
        return f"the curves do not cross between {min(lengths)} and {max(lengths)} tokens."
    clauses = []
    for crossing in crossings:
        name_a, name_b = crossing["models"]
        slower_below = name_b if crossing["faster_below"] == name_a else name_a
        clauses.append(f"{name_a} and {name_b} cross at about {crossing['length']:.0f} tokens "
                       f"({crossing['faster_below']} is faster below, {slower_below} above)")
    return "; ".join(clauses) + ", by linear interpolation between measured lengths."


# Plots: each draws on one Axes and returns its one-line caption.

def _plot_accuracy_vs_train_time(axes, metrics):
    _plot_accuracy_vs_cost(axes, metrics, lambda model: (model.get("cost") or {}).get("train_seconds"),
                           "training time (s)", "training time")
    return ("Test accuracy (95% CI) against training time; the dashed line joins the Pareto front "
            "(models no other model beats on both).")


def _plot_accuracy_vs_latency(axes, metrics):
    length = metrics["reference_length"]
    _plot_accuracy_vs_cost(axes, metrics, lambda model: p50_latency_ms(model, length),
                           f"batch-1 p50 latency at {length} tokens (ms)", "latency")
    return (f"Test accuracy (95% CI) against batch-1 p50 latency at {length} tokens; the dashed line joins the "
            "Pareto front (models no other model beats on both).")


def _plot_latency_vs_length(axes, metrics):
    drawn = _plot_serving_curves(axes, metrics, "batch1", "p50_ms", "batch-1 p50 latency (ms)")
    if drawn:
        for crossing in _latency_crossings(metrics):
            axes.axvline(crossing["length"], color="grey", linestyle=":", linewidth=1)
            axes.annotate(f"{' = '.join(crossing['models'])}\n~{crossing['length']:.0f} tokens",
                          (crossing["length"], crossing["latency_ms"]), xytext=(6, 6), textcoords="offset points",
                          fontsize=8)
    return "Batch-1 p50 latency against sequence length: " + _crossings_text(metrics)


def _plot_throughput_vs_length(axes, metrics):
    _plot_serving_curves(axes, metrics, "batch64", "examples_per_s", "examples/s at batch 64")
    return "Throughput at batch 64 (examples/s) against sequence length."


def _plot_accuracy_by_length(axes, metrics):
    rows = {model["name"]: {row["quartile"]: row for row in model.get("accuracy_by_length") or []}
            for model in metrics["models"]}
    quartiles = sorted(set().union(*rows.values()))
    if not quartiles:
        _no_data(axes, "no model has accuracy by length")
    else:
        width = 0.8 / len(rows)
        for index, (name, by_quartile) in enumerate(rows.items()):
            present = [quartile for quartile in quartiles if quartile in by_quartile]
            axes.bar([quartile - 0.4 + width * (index + 0.5) for quartile in present],
                     [by_quartile[quartile]["accuracy"] for quartile in present], width, label=name,
                     color=_color(index))
        axes.set_xticks(quartiles, [_quartile_label(quartile, rows.values()) for quartile in quartiles])
        axes.set_xlabel("input length quartile")
        axes.set_ylabel("accuracy")
        axes.set_ylim(0, 1.15)  # room for the legend above the bars
        axes.legend(loc="upper center", ncols=min(len(rows), 4))
    return "Accuracy in each quartile of input length in tokens (Q1 the shortest quarter of the examples)."


def _plot_learning_curves(axes, metrics):
    drawn = False
    for index, model in enumerate(metrics["models"]):
        curve = model.get("learning_curve") or {}
        points = [(epoch, accuracy) for epoch, accuracy in zip(curve.get("epoch") or [], curve.get("val_accuracy")
                                                               or []) if accuracy is not None]
        if points:
            axes.plot(*zip(*points), "o-", label=model["name"], color=_color(index))
            drawn = True
    if drawn:
        axes.set_xlabel("epoch")
        axes.set_ylabel("validation accuracy")
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend()
    else:
        _no_data(axes, "no model has a training history")
    return "Validation accuracy after each epoch (models taken from an existing run without history are left out)."


_PLOTS = (("accuracy_vs_train_time.png", _plot_accuracy_vs_train_time),
          ("accuracy_vs_latency.png", _plot_accuracy_vs_latency),
          ("latency_vs_length.png", _plot_latency_vs_length),
          ("throughput_vs_length.png", _plot_throughput_vs_length),
          ("accuracy_by_length.png", _plot_accuracy_by_length),
          ("learning_curves.png", _plot_learning_curves))


def _plot_accuracy_vs_cost(axes, metrics, cost_of, cost_label, cost_name):
    points = [(cost_of(model), model["quality"]["accuracy"], model["name"], index)
              for index, model in enumerate(metrics["models"]) if cost_of(model) is not None]
    if not points:
        _no_data(axes, f"no model has a measured {cost_name}")
        return
    for cost, accuracy, name, index in points:
        axes.errorbar([cost], [accuracy["value"]], yerr=[[accuracy["value"] - accuracy["low"]],
                                                         [accuracy["high"] - accuracy["value"]]],
                      fmt="o", capsize=3, color=_color(index))
        axes.annotate(name, (cost, accuracy["value"]), xytext=(9, 6), textcoords="offset points", fontsize=8)
    front = _pareto_front([(cost, accuracy["value"]) for cost, accuracy, _, _ in points])
    axes.plot(*zip(*front), "--", color="black", linewidth=1, zorder=0, label="Pareto front")
    axes.scatter(*zip(*front), s=160, facecolors="none", edgecolors="black", zorder=3)
    axes.set_xlabel(cost_label)
    axes.set_ylabel("test accuracy")
    axes.legend(fontsize=8)


def _pareto_front(points):
    """The (cost, accuracy) points that no other point matches or beats on both with one strictly better, by
    cost.

    >>> _pareto_front([(1.0, 0.80), (2.0, 0.85), (3.0, 0.84), (2.0, 0.80)])
    [(1.0, 0.8), (2.0, 0.85)]
    """
    def dominated(point):
        return any(other[0] <= point[0] and other[1] >= point[1] and other != point for other in points)
    return sorted({point for point in points if not dominated(point)})


def _plot_serving_curves(axes, metrics, batch, key, label):
    drawn = False
    for index, model in enumerate(metrics["models"]):
        points = [(length, _serving_figure(model, batch, length, key)) for length in metrics["lengths"]]
        points = [(length, value) for length, value in points if value is not None]
        if points:
            axes.plot(*zip(*points), "o-", label=model["name"], color=_color(index))
            drawn = True
    if not drawn:
        _no_data(axes, f"no model has {label} measured")
        return False
    axes.set_xticks(metrics["lengths"])
    axes.set_xlabel("sequence length (tokens)")
    axes.set_ylabel(label)
    axes.legend()
    return True


def _no_data(axes, message):
    axes.text(0.5, 0.5, message, ha="center", va="center", transform=axes.transAxes)
    axes.set_axis_off()


def _quartile_label(quartile, rows_by_model):
    """"Q1" and, when every model cut the quartile at the same token counts, its range."""
    ranges = {(rows[quartile]["min_tokens"], rows[quartile]["max_tokens"])
              for rows in rows_by_model if quartile in rows}
    if len(ranges) != 1:
        return f"Q{quartile}"
    (low, high), = ranges
    return f"Q{quartile}\n{low}-{high} tokens"


def _color(index):
    return f"C{index % 10}"


# The report: a list of blocks, rendered to Markdown and to HTML.

def _report_blocks(metrics, recommendation, figures):
    chosen = recommendation["model"] or "none"
    other_rules = [rule for rule in RULES if rule != recommendation["rule"]]
    return [("title", f"Text classifier comparison on {metrics['dataset']} ({metrics['split']} split, "
                      f"{metrics['examples']:,} examples)"),
            ("lead", f"Recommendation: {chosen}.", recommendation["reason"]),
            ("lead", "Rule applied:", recommendation["rule"]),
            *[("lead", "Other rule:", rule) for rule in other_rules],
            ("heading", "Summary"),
            ("table", *_summary_rows(metrics)),
            ("paragraph", _significance_note(metrics)),
            ("paragraph", "Batch-1 p50 latency against sequence length: " + _crossings_text(metrics)),
            ("heading", "Plots"),
            *[("figure", file_name, caption) for file_name, caption in figures],
            ("heading", "Machine and versions"),
            ("items", _machine_items(metrics))]


def _summary_rows(metrics):
    length = metrics["reference_length"]
    header = ["model", "accuracy [95% CI]", "macro-F1 [95% CI]", "vs first: difference [95% CI], p, significant",
              "vs best: difference [95% CI], p, significant", "parameters", "FLOPs/token", "train s",
              f"p50 ms (batch 1, {length} tokens)", f"examples/s (batch 64, {length} tokens)", "peak memory MB"]
    best_accuracy = max(model["quality"]["accuracy"]["value"] for model in metrics["models"])
    rows = []
    for index, model in enumerate(metrics["models"]):
        quality, cost = model["quality"], model.get("cost") or {}
        is_best = quality["accuracy"]["value"] == best_accuracy
        parameters = cost.get("parameters")
        rows.append([model["name"], _interval_text(quality["accuracy"]), _interval_text(quality.get("macro_f1")),
                     _comparison_text(quality.get("vs_first"), "baseline" if index == 0 else _NOT_AVAILABLE),
                     _comparison_text(quality.get("vs_best"), "best" if is_best else _NOT_AVAILABLE),
                     _NOT_AVAILABLE if parameters is None else f"{parameters:,}", _si(cost.get("flops_per_token")),
                     _number(cost.get("train_seconds"), ".1f"), _number(p50_latency_ms(model, length), ".2f"),
                     _number(_throughput(model, length), ",.0f"), _number(cost.get("peak_memory_mb"), ".0f")])
    return header, rows


def _significance_note(metrics):
    tests = sorted({comparison["test"] for model in metrics["models"]
                    for comparison in (model["quality"].get("vs_first"), model["quality"].get("vs_best"))
                    if comparison and comparison.get("test")})
    test_text = f" ({', '.join(tests)})" if tests else ""
    return (f"Differences are in accuracy, the row's model minus the first ({metrics['models'][0]['name']}) or the "
            f"most accurate model, on the same examples{test_text}, with 95% intervals.")


def _machine_items(metrics):
    versions = ", ".join(f"{package} {version}" for package, version in (metrics.get("versions") or {}).items())
    budget = ", ".join(f"{value:g} {unit}" for unit, value in (metrics.get("budget") or {}).items())
    items = [f"Machine: {metrics.get('machine') or _NOT_AVAILABLE}",
             f"Versions: {versions or _NOT_AVAILABLE}",
             f"Seed: {metrics.get('seed', _NOT_AVAILABLE)}; training budget per model: {budget or _NOT_AVAILABLE}",
             f"Serving measured at {', '.join(str(length) for length in metrics['lengths'])} tokens; "
             f"the summary uses {metrics['reference_length']}"]
    for model in metrics["models"]:
        places = [f"{label} {model[key]}" for key, label in (("run_dir", "run"), ("saved_model", "SavedModel"))
                  if model.get(key)]
        items.append(f"{model['name']}: {', '.join([model.get('kind') or 'model', *places])}")
    return items


def _markdown(blocks):
    parts = []
    for kind, *content in blocks:
        if kind == "title":
            parts.append(f"# {content[0]}")
        elif kind == "heading":
            parts.append(f"## {content[0]}")
        elif kind == "lead":
            parts.append(f"**{content[0]}** {content[1]}")
        elif kind == "paragraph":
            parts.append(content[0])
        elif kind == "table":
            header, rows = content
            lines = [_markdown_row(header), "|" + "|".join("---" if column == 0 else "---:"
                                                           for column in range(len(header))) + "|"]
            parts.append("\n".join(lines + [_markdown_row(row) for row in rows]))
        elif kind == "figure":
            file_name, caption = content
            parts.append(f"![{caption}]({file_name})\n\n*{caption}*")
        elif kind == "items":
            parts.append("\n".join(f"- {item}" for item in content[0]))
    return "\n\n".join(parts) + "\n"


def _markdown_row(cells):
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _html(blocks, out_dir):
    title = html.escape(blocks[0][1])
    parts = []
    for kind, *content in blocks:
        if kind == "title":
            parts.append(f"<h1>{html.escape(content[0])}</h1>")
        elif kind == "heading":
            parts.append(f"<h2>{html.escape(content[0])}</h2>")
        elif kind == "lead":
            parts.append(f"<p><strong>{html.escape(content[0])}</strong> {html.escape(content[1])}</p>")
        elif kind == "paragraph":
            parts.append(f"<p>{html.escape(content[0])}</p>")
        elif kind == "table":
            parts.append(_html_table(*content))
        elif kind == "figure":
            file_name, caption = content
            encoded = base64.b64encode((out_dir / file_name).read_bytes()).decode("ascii")
            parts.append(f'<figure><img src="data:image/png;base64,{encoded}" alt="{html.escape(caption)}">'
                         f"<figcaption>{html.escape(caption)}</figcaption></figure>")
        elif kind == "items":
            parts.append("<ul>\n" + "".join(f"<li>{html.escape(item)}</li>\n" for item in content[0]) + "</ul>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f"<style>\n{_CSS}\n</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def _html_table(header, rows):
    """The first column as text, the others right-aligned as numbers."""
    def cells(row, tag):
        return "".join(f'<{tag}{"" if column == 0 or tag == "th" else " class=number"}>{html.escape(cell)}</{tag}>'
                       for column, cell in enumerate(row))
    body = "".join(f"<tr>{cells(row, 'td')}</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{cells(header, 'th')}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


# Cells.

def _serving_figure(model, batch, length, key):
    figures = ((model.get("serving") or {}).get(batch) or {}).get(str(length)) or {}
    return figures.get(key)


def _throughput(model, length):
    return _serving_figure(model, "batch64", length, "examples_per_s")


def _interval_text(interval):
    if not interval or interval.get("value") is None:
        return _NOT_AVAILABLE
    return f"{interval['value']:.3f} [{interval['low']:.3f}, {interval['high']:.3f}]"


def _value_text(interval):
    return _NOT_AVAILABLE if not interval or interval.get("value") is None else f"{interval['value']:.3f}"


def _comparison_text(comparison, when_absent):
    if not comparison:
        return when_absent
    significant = "yes" if comparison["significant"] else "no"
    return (f"{comparison['difference']:+.3f} [{comparison['low']:+.3f}, {comparison['high']:+.3f}], "
            f"{_p_text(comparison['p_value'])}, {significant}")


def _terminal_comparison(comparison, is_first):
    if not comparison:
        return "baseline" if is_first else _NOT_AVAILABLE
    p_text = _p_text(comparison["p_value"]).replace(" ", "")
    return f"{comparison['difference']:+.3f} {p_text}{'*' if comparison['significant'] else ''}"


def _p_text(p_value):
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"


def _number(value, spec):
    return _NOT_AVAILABLE if value is None else format(value, spec)


def _si(value):
    """1.1M for 1,100,000, 500k for 500,000; n/a for None."""
    if value is None:
        return _NOT_AVAILABLE
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{value / scale:.3g}{suffix}"
    return f"{value:.0f}"


def _fit(text, width, align_right):
    """`text` padded to `width`, or cut to it with an ellipsis."""
    if len(text) > width:
        return text[:width - 1] + "…"
    return text.rjust(width) if align_right else text.ljust(width)
