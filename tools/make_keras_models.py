#!/usr/bin/env python3
"""Trains the Keras-built models, exports them with tf2onnx, and writes for each of them

  examples/models/keras_<name>.onnx                       the model the examples use (opset 17, dynamic dims)
  Tests/Fixtures/models/keras_<name>/model.onnx           the same bytes, as a whole-model fixture
  Tests/Fixtures/models/keras_<name>/ops.txt              the op types the model uses
  Tests/Fixtures/models/keras_<name>/test_data_set_K/     input_J.pb; output_J.pb (onnxruntime's outputs);
                                                          keras_output_J.pb (Keras' own model.predict)
  Tests/Fixtures/models/KERAS.md                          one line per model: architecture, ops, sizes, quality
  examples/data/...                                       the examples' inputs and Keras' predictions on them

Models: digits_mlp and digits_cnn (scikit-learn's bundled digits, the held-out split of tools/make_digits_model.py),
sentiment (Embedding + Bidirectional(LSTM) + Dense + Dense on generated sentences with negation and "but"),
gru_forecaster (GRU with Keras' default reset_after=True + Dense, on a synthetic AR(2) series).

Two Python environments take part, because the test references must come from the pinned onnxruntime while
tf2onnx needs TensorFlow 2.15 and protobuf 3.20 (see tools/README.md for the venv):
  /work/venv-keras/bin/python tools/make_keras_models.py     trains, exports, writes inputs and Keras' predictions,
                                                             then runs the step below with --reference-python
  python3 tools/make_keras_models.py --references SUMMARY    (the system python, onnxruntime 1.32.0) writes
                                                             output_J.pb, checks them against Keras' predictions,
                                                             checks that wrong LSTM gate order / GRU reset handling
                                                             would be caught, and writes ops.txt and KERAS.md
Seeds are fixed and TensorFlow runs single-threaded with deterministic ops, so a rerun on the same versions
reproduces the files byte for byte.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "models")
MODELS = os.path.join(ROOT, "examples", "models")
DATA = os.path.join(ROOT, "examples", "data")
SEED = 0
OPSET = 17
NAMES = ["digits_mlp", "digits_cnn", "sentiment", "gru_forecaster"]

# dlinfer's op list (README.md, "What runs"): an exported op outside it is reported, never worked around.
DLINFER_OPS = {
    "Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "Gemm", "MatMul",
    "LSTM", "GRU", "RNN", "BatchNormalization", "Relu", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "Clip", "Elu",
    "Softmax", "LogSoftmax", "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Exp", "Sum", "Max", "Min", "Flatten",
    "Reshape", "Transpose", "Concat", "Split", "Slice", "Squeeze", "Unsqueeze", "Gather", "Shape", "Cast",
    "ConstantOfShape", "Expand", "Pad", "Resize", "ReduceMean", "ReduceSum", "ReduceMax", "ArgMax", "LRN",
    "Identity", "Dropout", "Constant",
}


# ---- data ------------------------------------------------------------------------------------------------------

def digits_split():
    """The held-out split of tools/make_digits_model.py; its test images are committed in examples/data."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    images = (digits.images.astype(np.float32) / 16.0)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(images, labels, test_size=0.2, random_state=SEED,
                                                        stratify=labels)
    committed = np.load(os.path.join(DATA, "digits_test_images.npy"))
    assert np.array_equal(x_test, committed), "the split differs from examples/data/digits_test_images.npy"
    assert np.array_equal(y_test, np.load(os.path.join(DATA, "digits_test_labels.npy")))
    return x_train, y_train, x_test, y_test


SUBJECTS = ["the movie", "the film", "the plot", "the acting", "the story", "the ending", "the music", "the cast",
            "the script", "the dialogue", "this show", "the director"]
COPULAS = {  # affirmative -> its negated forms
    "was": ["was not", "wasn't", "was never"], "is": ["is not", "isn't", "is never"],
    "felt": ["did not feel", "didn't feel", "never felt"], "seemed": ["did not seem", "didn't seem", "never seemed"],
}
INTENSIFIERS = ["very", "really", "truly", "quite", "so", "pretty"]
ADJECTIVES = {
    +1: ["good", "great", "excellent", "wonderful", "brilliant", "enjoyable", "fun", "beautiful", "amazing", "superb",
         "charming", "clever"],
    -1: ["bad", "terrible", "awful", "boring", "dull", "horrible", "poor", "disappointing", "weak", "bland", "stupid",
         "predictable"],
}
VERBS = {  # past -> base form
    +1: {"loved": "love", "liked": "like", "enjoyed": "enjoy", "adored": "adore"},
    -1: {"hated": "hate", "disliked": "dislike", "regretted": "regret"},
}
OBJECTS = ["it", "every minute", "the movie", "the film", "the ending", "this show"]
PAD, UNK = "<pad>", "<unk>"


def clause(rng):
    """(text, polarity +1/-1): a statement whose polarity flips when it is negated."""
    def pick(seq):
        return seq[rng.integers(len(seq))]
    negated = rng.random() < 0.4
    kind = rng.random()
    if kind < 0.55:
        polarity = 1 if rng.random() < 0.5 else -1
        copula = pick(list(COPULAS))
        words = [pick(SUBJECTS), pick(COPULAS[copula]) if negated else copula]
        if rng.random() < 0.3:
            words.append(pick(INTENSIFIERS))
        words.append(pick(ADJECTIVES[polarity]))
    elif kind < 0.85:
        polarity = 1 if rng.random() < 0.6 else -1
        past = pick(list(VERBS[polarity]))
        words = ["i"]
        if negated:
            form = pick(["did not", "didn't", "never"])
            words += [form, past if form == "never" else VERBS[polarity][past]]
        else:
            if rng.random() < 0.3:
                words.append(pick(["really", "truly"]))
            words.append(past)
        words.append(pick(OBJECTS))
    else:
        polarity = 1
        words = ["i", pick(["would not", "wouldn't", "would never"]) if negated else "would", "recommend",
                 pick(OBJECTS)]
    text = " ".join(words)
    return text, -polarity if negated else polarity


def sentence(rng):
    """(text, label 0/1): one clause, two of the same polarity joined by "and", or two of opposite polarity joined
    by "but", where the second decides."""
    first, p = clause(rng)
    joint = rng.random()
    if joint < 0.5:
        return first, int(p > 0)
    while True:
        second, q = clause(rng)
        if (joint < 0.7) == (q == p):
            return f"{first} {'and' if q == p else 'but'} {second}", int(q > 0)


def tokenize(text):
    """Lower-case runs of letters and apostrophes: the rule the C and Python examples implement."""
    return re.findall(r"[a-z']+", text.lower())


def vocabulary():
    words = set()
    for group in (SUBJECTS, OBJECTS, INTENSIFIERS, *ADJECTIVES.values(), ["i", "would", "recommend", "and", "but",
                                                                           "really", "truly"]):
        for phrase in group:
            words.update(tokenize(phrase))
    for copula, negated in COPULAS.items():
        words.update(tokenize(" ".join([copula] + negated)))
    for verbs in VERBS.values():
        words.update(tokenize(" ".join(f"{a} {b}" for a, b in verbs.items())))
    words.update(tokenize("did not didn't never would not wouldn't"))
    return [PAD, UNK] + sorted(words)


AR_COEFFS, AR_NOISE = (1.5, -0.75), 0.1


def ar2_series(rng, n):
    """x_t = 1.5 x_{t-1} - 0.75 x_{t-2} + e_t, e ~ N(0, 0.1^2): a noisy oscillation with a period of 12 steps
    (characteristic roots 0.87 e^{+-i pi/6}); the first 200 steps are dropped so it starts stationary."""
    e = rng.normal(0.0, AR_NOISE, n + 200)
    x = np.zeros(n + 200)
    for t in range(2, n + 200):
        x[t] = AR_COEFFS[0] * x[t - 1] + AR_COEFFS[1] * x[t - 2] + e[t]
    return x[200:].astype(np.float32)


def windows(series, length):
    """Every window of `length` values [M, length, 1] and the value after each [M, 1]."""
    x = np.lib.stride_tricks.sliding_window_view(series[:-1], length)
    return np.ascontiguousarray(x[:, :, None]), series[length:, None].copy()


# ---- training (TensorFlow venv) --------------------------------------------------------------------------------

def keras_setup():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    return tf


def digits_model(tf, kind):
    """Input [N,1,8,8] like the existing digits example; the CNN reshapes it to Keras' channels-last (free: one
    channel) and tf2onnx transposes around each Conv."""
    layers = tf.keras.layers
    image = layers.Input((1, 8, 8), name="image")
    if kind == "mlp":
        x = layers.Flatten()(image)
        x = layers.Dense(128, activation="relu")(x)
    else:
        x = layers.Reshape((8, 8, 1))(image)
        x = layers.Conv2D(16, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Flatten()(x)
    out = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return tf.keras.Model(image, out, name=f"digits_{kind}")


def train_digits(tf, kind):
    x_train, y_train, x_test, y_test = digits_split()
    tf.keras.utils.set_random_seed(SEED)
    model = digits_model(tf, kind)
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=32, epochs=60, shuffle=True, verbose=0)
    probs = model.predict(x_test, verbose=0)
    np.save(os.path.join(DATA, f"digits_test_probabilities_keras_{kind}.npy"), probs)
    correct = int((probs.argmax(1) == y_test).sum())
    data_sets = [[x_test[:1]], [x_test[1:9]]]
    spec = dict(input_signature=[tf.TensorSpec((None, 1, 8, 8), tf.float32, name="image")], dims={"image": ["N"]},
                architecture=("Flatten-Dense(128, relu)-Dense(10, softmax)" if kind == "mlp" else
                              "Reshape to NHWC, (Conv2D 3x3 same + ReLU, MaxPool 2) x2 with 16 and 32 filters, "
                              "Flatten, Dense(10, softmax)"),
                quality=f"Keras accuracy on the 360 held-out digits {correct}/{len(y_test)}")
    return model, spec, data_sets


def train_sentiment(tf):
    vocab = vocabulary()
    ids = {w: k for k, w in enumerate(vocab)}
    rng = np.random.default_rng(SEED)
    train = dict(sentence(rng) for _ in range(12000))
    test = {}
    while len(test) < 1000:
        s, y = sentence(rng)
        if s not in train:
            test[s] = y

    def encode(texts):
        return [np.array([ids.get(w, ids[UNK]) for w in tokenize(t)], np.int64) for t in texts]

    def buckets(texts, labels):
        """Equal-length groups: the model is trained and exported without padding or masking, so the sequence
        length stays a plain dynamic dimension."""
        out = {}
        for tokens, y in zip(encode(texts), labels):
            out.setdefault(len(tokens), ([], []))
            out[len(tokens)][0].append(tokens)
            out[len(tokens)][1].append(y)
        return {n: (np.stack(t), np.array(y, np.float32)[:, None]) for n, (t, y) in sorted(out.items())}

    tf.keras.utils.set_random_seed(SEED)
    layers = tf.keras.layers
    tokens = layers.Input((None,), dtype="int64", name="tokens")
    x = layers.Embedding(len(vocab), 16)(tokens)
    x = layers.Bidirectional(layers.LSTM(24))(x)
    x = layers.Dense(16, activation="relu")(x)
    out = layers.Dense(1, activation="sigmoid", name="score")(x)
    model = tf.keras.Model(tokens, out, name="sentiment")
    model.compile(optimizer=tf.keras.optimizers.Adam(3e-3), loss="binary_crossentropy")
    train_buckets = buckets(list(train), list(train.values()))
    batches = [(n, k) for n, (t, _) in train_buckets.items() for k in range(0, len(t), 32)]
    order = np.random.default_rng(SEED + 1)
    for _ in range(10):
        for n, (t, y) in train_buckets.items():
            perm = order.permutation(len(t))
            train_buckets[n] = (t[perm], y[perm])
        for i in order.permutation(len(batches)):
            n, k = batches[i]
            t, y = train_buckets[n]
            model.train_on_batch(t[k:k + 32], y[k:k + 32])
    correct = 0
    for t, y in buckets(list(test), list(test.values())).values():
        correct += int(((model.predict(t, verbose=0) > 0.5) == (y > 0.5)).sum())

    with open(os.path.join(DATA, "sentiment_vocab.txt"), "w") as f:
        f.write("\n".join(vocab) + "\n")
    with open(os.path.join(DATA, "sentiment_sentences.txt")) as f:
        examples = [line.strip() for line in f if line.strip()]
    scores = np.array([model.predict(t[None, :], verbose=0)[0, 0] for t in encode(examples)], np.float32)
    np.save(os.path.join(DATA, "sentiment_sentences_keras.npy"), scores)
    short = next(t for t in encode(test) if len(t) == 5)
    long = np.stack([t for t in encode(test) if len(t) == 11][:8])
    spec = dict(input_signature=[tf.TensorSpec((None, None), tf.int64, name="tokens")], dims={"tokens": ["N", "T"]},
                architecture=f"token ids [N,T] -> Embedding({len(vocab)}, 16) -> Bidirectional(LSTM(24)) (last "
                             "states, concat) -> Dense(16, relu) -> Dense(1, sigmoid)",
                quality=f"Keras accuracy on {len(test)} held-out generated sentences {correct}/{len(test)}")
    # Random ids as well: real sentences mostly score near 0 or 1, where a wrong cell could still round to the same
    # answer; these land in between.
    noise = np.random.default_rng(SEED + 2).integers(0, len(vocab), (3, 17)).astype(np.int64)
    return model, spec, [[short[None, :]], [long], [noise]]


def train_gru(tf):
    rng = np.random.default_rng(SEED)
    x_train, y_train = windows(ar2_series(rng, 12000), 32)
    held_out = ar2_series(rng, 2000)
    x_test, y_test = windows(held_out, 32)
    tf.keras.utils.set_random_seed(SEED)
    layers = tf.keras.layers
    series = layers.Input((None, 1), name="series")
    x = layers.GRU(32)(series)  # reset_after=True: Keras' default, ONNX linear_before_reset=1
    out = layers.Dense(1, name="next")(x)
    model = tf.keras.Model(series, out, name="gru_forecaster")
    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="mse")
    model.fit(x_train, y_train, batch_size=64, epochs=15, shuffle=True, verbose=0)
    mse = float(((model.predict(x_test, verbose=0) - y_test) ** 2).mean())
    ar = AR_COEFFS[0] * x_test[:, -1, 0] + AR_COEFFS[1] * x_test[:, -2, 0]
    oracle = float(((ar - y_test[:, 0]) ** 2).mean())
    last = float(((x_test[:, -1, 0] - y_test[:, 0]) ** 2).mean())

    # The examples' default series: held-out values, and Keras' 12-step forecast fed back through model.predict.
    history = held_out[1000:1048].copy()
    np.savetxt(os.path.join(DATA, "forecast_series.txt"), history, fmt="%.6f")
    history = np.loadtxt(os.path.join(DATA, "forecast_series.txt"), dtype=np.float32)
    forecast = []
    for _ in range(12):
        forecast.append(model.predict(history[None, :, None], verbose=0)[0, 0])
        history = np.append(history, np.float32(forecast[-1]))
    np.save(os.path.join(DATA, "forecast_series_keras.npy"), np.array(forecast, np.float32))

    spec = dict(input_signature=[tf.TensorSpec((None, None, 1), tf.float32, name="series")],
                dims={"series": ["N", "T"]},
                architecture="past values [N,T,1] -> GRU(32, reset_after=True) (last state) -> Dense(1): the next value",
                quality=f"one-step MSE on held-out windows of 32: Keras {mse:.4f}, true AR(2) coefficients "
                        f"{oracle:.4f}, last value {last:.4f}")
    return model, spec, [[x_test[:1, 8:]], [windows(held_out, 48)[0][100:108]]]


def canonical_names(graph):
    """tf2onnx merges identical nodes and constants and keeps whichever it meets first, in an order that varies from
    process to process, and numbers what it creates from a counter: the same model gets different internal names
    on each run. Naming every node after its layer, op and position, every intermediate value after the node that
    makes it and every constant after its first consumer makes a rerun write the same bytes."""
    keep = {v.name for v in list(graph.input) + list(graph.output)}
    inits = {t.name: t for t in graph.initializer}
    names = {}
    for k, node in enumerate(graph.node):
        layer = "/".join(re.sub(r"__[0-9]+", "", node.name).split("/")[:2])
        node.name = f"{layer}/{node.op_type}_{k}"
        for slot, value in enumerate(node.input):
            if value in inits and value not in names:
                names[value] = f"{node.name}/input{slot}"
        for j, value in enumerate(node.output):
            if value and value not in keep:
                names[value] = f"{node.name}:{j}"
    order = list(dict.fromkeys(v for node in graph.node for v in node.input if v in inits))
    for node in graph.node:
        node.input[:] = [names.get(v, v) for v in node.input]
        node.output[:] = [names.get(v, v) for v in node.output]
    kept = [inits[v] for v in order]
    for t in kept:
        t.name = names[t.name]
    graph.ClearField("initializer")
    graph.initializer.extend(kept)
    graph.ClearField("value_info")


def export(name, model, spec, data_sets):
    import onnx
    import tf2onnx
    from onnx import numpy_helper
    path = os.path.join(MODELS, f"keras_{name}.onnx")
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec["input_signature"], opset=OPSET)
    canonical_names(proto.graph)
    # tf2onnx names dynamic dims unk__K; the model contract reads better with N (batch) and T (time).
    for value in list(proto.graph.input) + list(proto.graph.output):
        labels = spec["dims"].get(value.name, ["N"])
        for k, dim in enumerate(value.type.tensor_type.shape.dim):
            if dim.dim_param:
                dim.dim_param = labels[k] if k < len(labels) else f"d{k}"
    proto.doc_string = f"Keras {name}: {spec['architecture']}"
    onnx.checker.check_model(proto, full_check=True)
    onnx.save(proto, path)
    folder = os.path.join(FIXTURES, f"keras_{name}")
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    shutil.copyfile(path, os.path.join(folder, "model.onnx"))
    inputs = [i.name for i in proto.graph.input]
    outputs = [o.name for o in proto.graph.output]
    for k, arrays in enumerate(data_sets):
        d = os.path.join(folder, f"test_data_set_{k}")
        os.makedirs(d)
        predicted = model.predict(arrays if len(arrays) > 1 else arrays[0], verbose=0)
        predicted = predicted if isinstance(predicted, list) else [predicted]
        for j, (n, a) in enumerate(zip(inputs, arrays)):
            onnx.save_tensor(numpy_helper.from_array(np.ascontiguousarray(a), n), os.path.join(d, f"input_{j}.pb"))
        for j, (n, a) in enumerate(zip(outputs, predicted)):
            onnx.save_tensor(numpy_helper.from_array(a.astype(np.float32), n), os.path.join(d, f"keras_output_{j}.pb"))
    return dict(architecture=spec["architecture"], quality=spec["quality"])


def train_all():
    tf = keras_setup()
    import keras
    import tf2onnx
    summary = {"versions": f"TensorFlow {tf.__version__} (Keras {keras.__version__}), tf2onnx {tf2onnx.__version__}"}
    trainers = {"digits_mlp": lambda: train_digits(tf, "mlp"), "digits_cnn": lambda: train_digits(tf, "cnn"),
                "sentiment": lambda: train_sentiment(tf), "gru_forecaster": lambda: train_gru(tf)}
    for name in NAMES:
        model, spec, data_sets = trainers[name]()
        summary[name] = export(name, model, spec, data_sets)
        print(f"keras_{name}: {spec['quality']}", flush=True)
    return summary


# ---- references (system python: the pinned onnxruntime) -------------------------------------------------------

def perturbed(model, change):
    """A copy of `model` with `change(node, initializers)` applied to its one recurrent node."""
    import onnx
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {t.name: t for t in m.graph.initializer}
    node = next(n for n in m.graph.node if n.op_type in ("LSTM", "GRU"))
    change(node, inits)
    return m


def keras_gate_order(node, inits):
    """What an importer that kept Keras' i,f,c,o gate blocks would compute: ONNX's i,o,f,c blocks read as i,f,c,o."""
    from onnx import numpy_helper
    for k, name in enumerate(node.input[1:4]):
        a = numpy_helper.to_array(inits[name])
        parts = np.split(a, 4 * (2 if k == 2 else 1), axis=1)
        blocks = [parts[i::4] if k == 2 else [parts[i]] for i in range(4)]  # B holds Wb then Rb
        order = [0, 2, 3, 1]
        rebuilt = [np.concatenate([blocks[o][r] for o in order], axis=1) for r in range(len(blocks[0]))]
        inits[name].CopyFrom(numpy_helper.from_array(np.concatenate(rebuilt, axis=1), name))


def reset_before(node, _):
    """What an importer that ignored reset_after would compute: linear_before_reset=0."""
    next(a for a in node.attribute if a.name == "linear_before_reset").i = 0


# The import mistakes the Keras comparison exists to catch, per recurrent op.
MISTAKES = {"LSTM": (keras_gate_order, "kept Keras' i,f,c,o gate order"),
            "GRU": (reset_before, "ignored reset_after (linear_before_reset=0)")}


def write_references(summary_path):
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper
    with open(summary_path) as f:
        summary = json.load(f)

    def read(path):
        return numpy_helper.to_array(onnx.load_tensor(path))

    rows = []
    for name in NAMES:
        folder = os.path.join(FIXTURES, f"keras_{name}")
        path = os.path.join(folder, "model.onnx")
        model = onnx.load(path)
        ops = sorted({n.op_type for n in model.graph.node})
        with open(os.path.join(folder, "ops.txt"), "w") as f:
            f.write(" ".join(ops) + "\n")
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        wrong, mistake = next(((fn, why) for op, (fn, why) in MISTAKES.items() if op in ops), (None, None))
        wrong_sess = wrong and ort.InferenceSession(perturbed(model, wrong).SerializeToString(),
                                                    providers=["CPUExecutionProvider"])
        shapes, worst, caught = [], 0.0, []
        for k in range(len([e for e in os.listdir(folder) if e.startswith("test_data_set_")])):
            d = os.path.join(folder, f"test_data_set_{k}")
            feed = {n: read(os.path.join(d, f"input_{j}.pb")) for j, n in enumerate(names)}
            got = sess.run(None, feed)
            for j, (out, a) in enumerate(zip(sess.get_outputs(), got)):
                keras = read(os.path.join(d, f"keras_output_{j}.pb"))
                # A conversion that changed Keras' semantics would make a wrong reference: refuse it.
                np.testing.assert_allclose(a, keras, rtol=1e-4, atol=1e-5, err_msg=f"{name} set {k}: ORT vs Keras")
                worst = max(worst, float(np.abs(a - keras).max()))
                onnx.save_tensor(numpy_helper.from_array(a, out.name), os.path.join(d, f"output_{j}.pb"))
            if wrong_sess:
                bad = wrong_sess.run(None, feed)[0]
                keras = read(os.path.join(d, "keras_output_0.pb"))
                # The Keras comparison must be able to tell the mistake apart (the tests' rtol 1e-3, atol 1e-4).
                assert not np.allclose(bad, keras, rtol=1e-3, atol=1e-4), f"{name} set {k}: {wrong.__name__} unseen"
                caught.append(f"{np.abs(bad - keras).max():.3f}")
            shapes.append(", ".join(f"{n} {list(v.shape)}" for n, v in feed.items()) + " -> "
                          + ", ".join(str(list(a.shape)) for a in got))
        outside = [o for o in ops if o not in DLINFER_OPS]
        size = os.path.getsize(path)
        print(f"keras_{name}: {size / 1e3:.1f} kB; ops {' '.join(ops)}; max |ORT - Keras| {worst:.1e}")
        if outside:
            print(f"  OUTSIDE dlinfer's list: {' '.join(outside)}")
        check = ""
        if wrong_sess:
            check = f" An importer that {mistake} would be off Keras by {' / '.join(caught)} (max abs per set)."
            print(f" {check}")
        info = summary[name]
        rows.append(f"| `keras_{name}` | {info['architecture']} | {' '.join(ops)} | {size / 1e3:.1f} kB | "
                    f"{'; '.join(shapes)} | {info['quality']}; max abs ORT - Keras {worst:.1e}.{check} |")

    with open(os.path.join(FIXTURES, "KERAS.md"), "w") as f:
        f.write("# Keras-built whole-model fixtures\n\n"
                "Generated by `tools/make_keras_models.py` (do not edit by hand): trained in Keras, exported with "
                "`tf2onnx.convert.from_keras` (opset 17). The same models are `examples/models/keras_*.onnx`.\n"
                f"{summary['versions']}; `output_J.pb` from onnxruntime {ort.__version__} (CPU), `keras_output_J.pb` "
                "from Keras' own `model.predict`. `Tests/DLInferTests/WholeModelTests.swift` checks dlinfer against "
                "`output_J.pb`, `bindings/python/tests/test_keras_models.py` against `keras_output_J.pb` "
                "(rtol 1e-3, atol 1e-4).\n\n"
                "| fixture | architecture | ops | model | data sets (inputs -> outputs) | quality, checks |\n"
                "|---|---|---|---|---|---|\n")
        f.write("\n".join(rows) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--references", metavar="SUMMARY", help="the onnxruntime step (run by the training step)")
    parser.add_argument("--reference-python", default="python3",
                        help="the python with the pinned onnxruntime (default: python3 on PATH)")
    args = parser.parse_args()
    if args.references:
        write_references(args.references)
        return
    os.makedirs(MODELS, exist_ok=True)
    summary = train_all()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(summary, f)
    try:
        subprocess.run([args.reference_python, os.path.abspath(__file__), "--references", f.name], check=True)
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    main()
