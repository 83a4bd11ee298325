"""LSTMEncoder: the baseline, Embedding -> LSTM (optionally bidirectional, stacked), padded steps masked."""

import keras
from keras import ops

from encoders_tf.layers import SequencePooling


@keras.saving.register_keras_serializable(package="encoders_tf")
class LSTMEncoder(keras.layers.Layer):
    """An LSTM encoder that honours the encoder contract (same inputs and outputs as TransformerEncoder).

    Padded steps are masked: the LSTM skips them, so padding never changes the unpadded outputs.
    `pooled_output` is the last state (forward and backward concatenated when bidirectional), or the
    mean, max or weighted sum of `sequence_output` over unpadded steps.

    Args:
        vocabulary_size: number of token ids.
        embedding_size: width of the token embedding.
        units: LSTM cells per direction; the output width is units (x2 when bidirectional).
        num_layers: stacked LSTM layers.
        bidirectional: run each layer both ways and concatenate.
        dropout: dropout on the embeddings and between stacked layers.
        pooling: "last", "mean", "max" or "weighted".

    Example:
    >>> encoder = LSTMEncoder(vocabulary_size=100, embedding_size=8, units=16)
    >>> outputs = encoder({"token_ids": keras.ops.array([[2, 9, 3, 0]]),
    ...                    "padding_mask": keras.ops.array([[1, 1, 1, 0]], "bool")})
    >>> print(outputs["sequence_output"].shape, outputs["pooled_output"].shape)
    (1, 4, 16) (1, 16)
    """

    def __init__(self, vocabulary_size, embedding_size=128, units=128, num_layers=1, bidirectional=False,
                 dropout=0.0, pooling="last", **kwargs):
        super().__init__(**kwargs)
        self.vocabulary_size = vocabulary_size
        self.embedding_size = embedding_size
        self.units = units
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.pooling = pooling
        policy = self.dtype_policy
        self.embedding = keras.layers.Embedding(vocabulary_size, embedding_size, name="embedding",
                                                dtype=policy)
        self.recurrent_layers = []
        for index in range(num_layers):
            last = index == num_layers - 1
            lstm = keras.layers.LSTM(units, return_sequences=True, return_state=last,
                                     name=f"lstm_{index}", dtype=policy)
            if bidirectional:
                lstm = keras.layers.Bidirectional(lstm, name=f"bidirectional_{index}", dtype=policy)
            self.recurrent_layers.append(lstm)
        self.pooler = None
        if pooling != "last":
            self.pooler = SequencePooling(pooling, name="pooling", dtype=policy)
        self._dropout = keras.layers.Dropout(dropout, dtype=self.dtype_policy)

    @property
    def output_size(self):
        return self.units * (2 if self.bidirectional else 1)

    @property
    def token_embedding(self):
        """The token embedding layer (keras.layers.Embedding, [V, E]); a masked-LM decoder ties to it."""
        return self.embedding

    def build(self, input_shape):
        token_ids_shape = tuple(input_shape["token_ids"])
        self.embedding.build(token_ids_shape)
        width = self.embedding_size
        for layer in self.recurrent_layers:
            layer.build(token_ids_shape + (width,))
            width = self.output_size
        if self.pooler is not None:
            self.pooler.build(token_ids_shape + (self.output_size,))

    def call(self, inputs, training=None):
        padding_mask = ops.cast(inputs["padding_mask"], "bool")
        x = self._dropout(self.embedding(inputs["token_ids"]), training=training)
        for layer in self.recurrent_layers[:-1]:
            x = self._dropout(layer(x, mask=padding_mask, training=training), training=training)
        x, *states = self.recurrent_layers[-1](x, mask=padding_mask, training=training)
        if self.pooler is not None:
            pooled = self.pooler(x, padding_mask=padding_mask)
        elif self.bidirectional:  # states: forward h, forward c, backward h, backward c
            pooled = ops.concatenate([states[0], states[2]], axis=-1)
        else:  # states: h, c
            pooled = states[0]
        return {"sequence_output": x, "pooled_output": pooled}

    def compute_output_shape(self, input_shape):
        batch, length = tuple(input_shape["token_ids"])
        return {"sequence_output": (batch, length, self.output_size),
                "pooled_output": (batch, self.output_size)}

    def get_config(self):
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            embedding_size=self.embedding_size,
            units=self.units,
            num_layers=self.num_layers,
            bidirectional=self.bidirectional,
            dropout=self.dropout,
            pooling=self.pooling,
        )
        return config
