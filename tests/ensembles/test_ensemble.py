import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import keras

from deeprob_keras.ensembles import Ensemble

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _member(seed, logits=False):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3, activation="relu"),
                             keras.layers.Flatten(),
                             keras.layers.Dense(3, activation=None if logits else "softmax")])


def _softmax(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


X = np.random.default_rng(0).normal(size=(5, 6, 6, 1)).astype("float32")


def test_probabilities_are_the_mean_of_the_members():
    members = [_member(s) for s in range(3)]
    ensemble = Ensemble(members)
    p = ensemble.predict(X, verbose=0)
    member_p = [m.predict(X, verbose=0) for m in members]
    np.testing.assert_allclose(p, np.mean(member_p, axis=0), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(ensemble.predict_classes(X, verbose=0), np.argmax(np.mean(member_p, 0), 1))
    # members output different answers, so the mean differs from any single member
    assert min(np.abs(p - q).max() for q in member_p) > 1e-4


def test_from_logits_averages_softmaxes():
    members = [_member(s, logits=True) for s in range(2)]
    p = Ensemble(members, from_logits=True).predict(X, verbose=0)
    np.testing.assert_allclose(p, np.mean([_softmax(m.predict(X, verbose=0)) for m in members], 0), rtol=1e-5)


def test_from_snapshots_and_keras_round_trip(tmp_path):
    base = _member(0)
    weights = [_member(s).get_weights() for s in (1, 2)]
    ensemble = Ensemble.from_snapshots(base, weights)
    assert len(ensemble.members) == 2 and all(m is not base for m in ensemble.members)
    refs = []
    for w in weights:
        base.set_weights(w)
        refs.append(base.predict(X, verbose=0))
    p = ensemble.predict(X, verbose=0)
    np.testing.assert_allclose(p, np.mean(refs, 0), rtol=1e-6, atol=1e-7)
    path = str(tmp_path / "ensemble.keras")
    ensemble.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded, Ensemble) and len(reloaded.members) == 2
    np.testing.assert_allclose(reloaded.predict(X, verbose=0), p, rtol=1e-6, atol=1e-7)


def test_saved_model_signature_reloads_in_a_fresh_process(tmp_path):
    import tensorflow as tf

    ensemble = Ensemble.from_models([_member(s) for s in range(2)])
    p = ensemble.predict(X, verbose=0)

    class Serving(tf.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        @tf.function(input_signature=[tf.TensorSpec([None, 6, 6, 1], tf.float32, name="images")])
        def serve(self, images):
            return {"probabilities": self.model(images, training=False)}

    module = Serving(ensemble)
    export_dir = str(tmp_path / "export" / "1")
    tf.saved_model.save(module, export_dir, signatures={"serving_default": module.serve})
    np.save(tmp_path / "x.npy", X)
    code = textwrap.dedent(f"""
        import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
        import numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({export_dir!r})
        assert list(loaded.signatures) == ["serving_default"]
        out = loaded.signatures["serving_default"](images=tf.constant(np.load({str(tmp_path / 'x.npy')!r})))
        np.save({str(tmp_path / 'p.npy')!r}, out["probabilities"].numpy())
    """)
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(tmp_path), timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), p, rtol=1e-6, atol=1e-7)


def test_bad_arguments():
    with pytest.raises(ValueError, match="members"):
        Ensemble([])
    with pytest.raises(ValueError, match="members"):
        Ensemble([_member(0), "not a model"])
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    with pytest.raises(ValueError, match="input shapes"):
        Ensemble([_member(0), other])
    with pytest.raises(ValueError, match="from_logits"):
        Ensemble([_member(0)], from_logits="yes")
    with pytest.raises(ValueError, match="weight_list"):
        Ensemble.from_snapshots(_member(0), [])
