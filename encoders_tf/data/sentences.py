"""Documents cut into sentences, e.g. IMDB reviews into sentence-length texts for a teacher of sentences (SST-2)."""

import re

# Line breaks: HTML ones (IMDB writes paragraphs as "<br /><br />") and real ones.
_LINE_BREAKS = re.compile(r"<br\s*/?>|\n", re.IGNORECASE)
# A sentence ends at ".", "!" or "?" (and the quote or bracket closing it) before a space and a capital, digit or
# opening quote. A rule, not a parser: "Mr. Smith" is cut after "Mr.".
_SENTENCE_END = re.compile(r"(?:(?<=[.!?])|(?<=[.!?][\"')\]]))\s+(?=[\"'(\[]?[A-Z0-9])")


def split_sentences(document: str) -> list:
    """The sentences of `document`, in order, stripped, none empty.

    Args:
        document: a text; "<br />" tags and newlines end sentences too.

    Example:
    >>> split_sentences('A fine film. I laughed!<br /><br />"Go," he said. 10 out of 10?')
    ['A fine film.', 'I laughed!', '"Go," he said.', '10 out of 10?']
    """
    sentences = []
    for line in _LINE_BREAKS.split(document):
        sentences += [sentence.strip() for sentence in _SENTENCE_END.split(line) if sentence.strip()]
    return sentences
