"""Runs the docstring examples (`>>>`) of the package as doctests: `make check` and `make test` pass
`--doctest-modules encoders_tf`.

Each example runs in its own scratch directory, laid out like a checkout beside the shared data:

    reviews.csv      text,label: "a fine film",1 and "dull",0
    pairs.tsv        sentence1, label, sentence2: "He left.", 1, "He went away."
    saved_models/    (encoders_tf.serving examples) a tiny untrained LSTM classifier, classes "negative" and
                     "positive", exported as model `demo`, version 1
    ../shared/data   the shared data sets; examples that read them are marked `slow`, and skip when absent
"""

import pathlib

import keras
import pytest
from _pytest.doctest import DoctestItem

SHARED_DATA = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"


def _reads_shared_data(item):
    return any("../shared/data" in example.source for example in item.dtest.examples)


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(config, items):
    for item in items:
        if isinstance(item, DoctestItem) and _reads_shared_data(item):
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.skipif(not SHARED_DATA.is_dir(),
                                               reason=f"needs the shared data sets in {SHARED_DATA}"))


@pytest.fixture(scope="session")
def _demo_saved_models(tmp_path_factory):
    """saved_models/ holding a tiny untrained LSTM classifier exported as `demo` version 1."""
    from encoders_tf import EncoderConfig, build_encoder
    from encoders_tf.export import export_for_serving
    from encoders_tf.tasks import TextClassifier
    from encoders_tf.text import WordPieceTokenizer, train_wordpiece_vocabulary

    keras.utils.set_random_seed(0)
    vocabulary = train_wordpiece_vocabulary(["a lovely film", "a dull film"], vocabulary_size=100)
    config = EncoderConfig.preset("lstm", vocabulary_size=len(vocabulary)).replace(hidden_size=8, lstm_units=8)
    model = TextClassifier(WordPieceTokenizer(vocabulary, max_length=16), build_encoder(config), num_classes=2,
                           class_names=["negative", "positive"])
    base = tmp_path_factory.mktemp("doctest-serving") / "saved_models"
    export_for_serving(model, "demo", base)
    return base


@pytest.fixture(autouse=True)
def _doctest_directory(request, tmp_path, monkeypatch):
    """Runs each doctest in `tmp_path/main`, beside `tmp_path/shared/data` (see the module docstring)."""
    if not isinstance(request.node, DoctestItem):
        yield
        return
    keras.utils.set_random_seed(0)
    main = tmp_path / "main"
    main.mkdir()
    (main / "reviews.csv").write_text("text,label\na fine film,1\ndull,0\n")
    (main / "pairs.tsv").write_text("sentence1\tlabel\tsentence2\nHe left.\t1\tHe went away.\n")
    if SHARED_DATA.is_dir():
        (tmp_path / "shared").mkdir()
        (tmp_path / "shared" / "data").symlink_to(SHARED_DATA)
    if request.node.name.startswith("encoders_tf.serving."):
        (main / "saved_models").symlink_to(request.getfixturevalue("_demo_saved_models"))
    monkeypatch.chdir(main)
    yield
