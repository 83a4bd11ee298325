"""Small random Hugging Face models of each supported family, saved as checkpoint directories."""

import numpy as np

FAMILIES = ("bert", "roberta", "albert", "distilbert", "t5", "t5-gated")


def hf_config(family, vocab_size=99):
    import transformers as T

    if family == "bert":
        return T.BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=37)
    if family == "roberta":
        return T.RobertaConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                               intermediate_size=37, type_vocab_size=1, max_position_embeddings=66)
    if family == "albert":
        return T.AlbertConfig(vocab_size=vocab_size, embedding_size=16, hidden_size=32, num_hidden_layers=3,
                              num_attention_heads=4, intermediate_size=37, hidden_act="gelu_new")
    if family == "distilbert":
        return T.DistilBertConfig(vocab_size=vocab_size, dim=32, n_layers=2, n_heads=4, hidden_dim=37)
    return T.T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      feed_forward_proj="gated-gelu" if family == "t5-gated" else "relu")


def save_random_model(family, directory, seed=0, vocab_size=99):
    """Saves a random model (weights perturbed so no LayerNorm is the identity) and returns it in eval mode."""
    import torch
    import transformers as T

    torch.manual_seed(seed)
    config = hf_config(family, vocab_size)
    model = T.T5EncoderModel(config) if family.startswith("t5") else T.AutoModel.from_config(config)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    model.eval().save_pretrained(directory)
    return model


def padded_batch(seed=0, lengths=(12, 7, 3), pad_id=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(5, 99, size=(len(lengths), max(lengths)))
    mask = np.arange(max(lengths))[None, :] < np.array(lengths)[:, None]
    return np.where(mask, ids, pad_id).astype("int64"), mask
