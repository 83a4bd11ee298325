"""Text in the graph: WordPiece vocabulary training and the in-graph tokenizer layer."""

from encoders_tf.text.byte_pair import BytePairTokenizer
from encoders_tf.text.sentencepiece import SentencePieceTokenizer
from encoders_tf.text.tokenizer import WordPieceTokenizer
from encoders_tf.text.vocabulary import (SPECIAL_TOKENS, load_vocabulary, save_vocabulary,
                                         train_wordpiece_vocabulary)

__all__ = ["BytePairTokenizer", "SPECIAL_TOKENS", "SentencePieceTokenizer", "WordPieceTokenizer", "load_vocabulary", "save_vocabulary",
           "train_wordpiece_vocabulary"]
