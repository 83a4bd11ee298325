"""A converted checkpoint on disk: the tokenizer and encoder in one `.keras` text -> outputs model."""

import json
import pathlib

import keras

ENCODER_FILE = "encoder.keras"
CONFIG_FILE = "encoder_config.json"


def build_text_encoder(tokenizer, encoder):
    """A Keras model from text tf.string [B] to the encoder's outputs dict, tokenizer inside."""
    text = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(text, encoder(tokenizer(text)), name="text_encoder")


def save_converted(tokenizer, encoder, config, out, source=""):
    """Writes OUT/encoder.keras and OUT/encoder_config.json; returns the directory."""
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    build_text_encoder(tokenizer, encoder).save(out / ENCODER_FILE)
    (out / CONFIG_FILE).write_text(json.dumps({"encoder_config": config.to_dict(), "source": str(source)},
                                              indent=2) + "\n")
    return out


def load_converted(directory):
    """(tokenizer, encoder, EncoderConfig) from a directory written by `save_converted`."""
    from encoders_tf.config import EncoderConfig

    directory = pathlib.Path(directory)
    for name in (ENCODER_FILE, CONFIG_FILE):
        if not (directory / name).is_file():
            raise FileNotFoundError(f"{directory} is not a converted checkpoint: {name} is missing "
                                    f"(expected the --out directory of `encoders-tf convert`)")
    model = keras.models.load_model(directory / ENCODER_FILE)
    config = EncoderConfig.from_dict(json.loads((directory / CONFIG_FILE).read_text())["encoder_config"])
    return model.get_layer("tokenizer"), model.get_layer("encoder"), config
