"""A converted checkpoint on disk: a run directory whose model is a TextEncoder (tokenizer and encoder)."""

from encoders_tf.tasks import TextEncoder
from encoders_tf.training.runs import save_run


def save_converted(tokenizer, encoder, config, out, source=""):
    """Writes the run directory OUT (model.keras holding a TextEncoder, run.json); returns its path.

    `encoders-tf train --init OUT` fine-tunes it, `encoders-tf export --model OUT` serves its embeddings.
    """
    model = TextEncoder(tokenizer, encoder, name="text_encoder")
    model.build()
    return save_run(out, model, {"encoder_config": config.to_dict(), "source": str(source),
                                 "parameters": int(model.count_params())})
