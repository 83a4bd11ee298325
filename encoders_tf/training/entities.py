"""Entity-level precision, recall and F1 of tag sequences, as conlleval and seqeval (default mode) count them,
and token accuracy.

An entity is a span of words and a type. Spans are read with conlleval's rules, which cover IOB2 (B- opens,
I- of the same type continues), IOB1-style lenient starts (an I- after O or after another type opens a span)
and IOBES (E- closes, S- is a one-word span). A predicted entity is correct when its span and its type both
equal a gold entity's. Scores are micro-averaged over all entities, and given per type.
"""

from __future__ import annotations

OUTSIDE = "O"
PREFIXES = ("B", "I", "E", "S")


def _split(tag):
    """(prefix, type) of a tag: "O" -> ("O", ""), "B-PER" -> ("B", "PER")."""
    if tag == OUTSIDE:
        return OUTSIDE, ""
    prefix, dash, kind = str(tag).partition("-")
    if not dash or prefix not in PREFIXES or not kind:
        raise ValueError(f"tag {tag!r} is not an entity tag; accepted: 'O', or B-, I-, E-, S- and a type (e.g. "
                         f"'B-PER')")
    return prefix, kind


def _ends(previous, current):
    """Whether the span open at the previous word ends before the current one (conlleval's endOfChunk)."""
    (prev_prefix, prev_kind), (prefix, kind) = previous, current
    if prev_prefix == OUTSIDE:
        return False
    return (prev_prefix in ("E", "S") or prefix in ("B", "S", OUTSIDE) or prev_kind != kind)


def _starts(previous, current):
    """Whether a span starts at the current word (conlleval's startOfChunk)."""
    (prev_prefix, prev_kind), (prefix, kind) = previous, current
    if prefix == OUTSIDE:
        return False
    return (prefix in ("B", "S") or prev_prefix in ("E", "S", OUTSIDE) or prev_kind != kind)


def entities(tags) -> set:
    """The entities of one tag sequence: {(type, first word, last word)}.

    Args:
        tags: the tag names of a sentence's words.

    Example:
    >>> sorted(entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"]))
    [('LOC', 3, 3), ('LOC', 4, 4), ('ORG', 5, 5), ('PER', 0, 1)]
    """
    found, previous, begin = set(), (OUTSIDE, ""), 0
    for position, tag in enumerate(list(tags) + [OUTSIDE]):
        current = _split(tag)
        if _ends(previous, current):
            found.add((previous[1], begin, position - 1))
        if _starts(previous, current):
            begin = position
        previous = current
    return found


def _scores(correct, predicted, gold):
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def entity_metrics(gold, predicted) -> dict:
    """Entity-level micro precision, recall and F1, the same per entity type, and token accuracy.

    Args:
        gold: the true tag names, one sequence per sentence.
        predicted: the predicted tag names, a sequence of the same length per sentence.

    Returns:
        {"precision", "recall", "f1", "accuracy" (words whose tag is right, "O" included), "entities" (gold),
        "predicted_entities", "correct_entities", "words", "per_type": {type: {"precision", "recall", "f1",
        "support" (gold entities of the type)}}}. A score with a zero denominator is 0.

    Raises:
        ValueError: sequences of different lengths, or a tag that is not "O" or B-/I-/E-/S- and a type.

    Example:
    >>> metrics = entity_metrics([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    >>> metrics["f1"], metrics["accuracy"]
    (0.0, 0.6666666666666666)
    """
    gold, predicted = [list(s) for s in gold], [list(s) for s in predicted]
    if len(gold) != len(predicted):
        raise ValueError(f"got {len(gold)} gold sentences and {len(predicted)} predicted; accepted: one prediction "
                         f"per sentence")
    counts = {}  # type -> [correct, predicted, gold]
    right_words = words = 0
    for index, (true_tags, predicted_tags) in enumerate(zip(gold, predicted)):
        if len(true_tags) != len(predicted_tags):
            raise ValueError(f"sentence {index} has {len(true_tags)} gold tags and {len(predicted_tags)} predicted; "
                             f"accepted: one predicted tag per word")
        words += len(true_tags)
        right_words += sum(a == b for a, b in zip(true_tags, predicted_tags))
        true_entities, predicted_entities = entities(true_tags), entities(predicted_tags)
        for kind, *_ in true_entities:
            counts.setdefault(kind, [0, 0, 0])[2] += 1
        for entity in predicted_entities:
            count = counts.setdefault(entity[0], [0, 0, 0])
            count[1] += 1
            count[0] += entity in true_entities
    correct, predicted_total, gold_total = (sum(c[i] for c in counts.values()) for i in range(3))
    return {
        **_scores(correct, predicted_total, gold_total),
        "accuracy": right_words / words if words else 0.0,
        "entities": gold_total,
        "predicted_entities": predicted_total,
        "correct_entities": correct,
        "words": words,
        "per_type": {kind: {**_scores(*counts[kind]), "support": counts[kind][2]} for kind in sorted(counts)},
    }
