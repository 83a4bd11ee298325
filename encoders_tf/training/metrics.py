"""Classification metrics from predicted probabilities: accuracy, macro-F1, cross-entropy."""

import numpy as np


def classification_metrics(probabilities, labels):
    """Accuracy, macro-F1 (the unweighted mean of per-class F1), mean cross-entropy and, for two classes, `f1`:
    the F1 of class 1 (the positive class, as GLUE reports MRPC).

    Args:
        probabilities: float [N, C], rows summing to 1.
        labels: int [N] class ids.

    Example:
    >>> classification_metrics(np.array([[0.9, 0.1], [0.2, 0.8]]), np.array([0, 0]))["accuracy"]
    0.5
    """
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("cannot compute metrics on 0 examples")
    predicted = probabilities.argmax(axis=-1)
    f1_scores = {}
    for cls in range(probabilities.shape[-1]):
        true_positive = np.sum((predicted == cls) & (labels == cls))
        predicted_count, actual_count = np.sum(predicted == cls), np.sum(labels == cls)
        if predicted_count + actual_count == 0:
            continue  # a class absent from both predictions and labels does not count
        f1_scores[cls] = 2 * true_positive / (predicted_count + actual_count)
    chosen = probabilities[np.arange(len(labels)), labels]
    metrics = {
        "accuracy": float(np.mean(predicted == labels)),
        "macro_f1": float(np.mean(list(f1_scores.values()))),
        "loss": float(-np.mean(np.log(np.clip(chosen, 1e-7, 1.0)))),
        "examples": int(len(labels)),
    }
    if probabilities.shape[-1] == 2:
        metrics["f1"] = float(f1_scores.get(1, 0.0))
    return metrics
