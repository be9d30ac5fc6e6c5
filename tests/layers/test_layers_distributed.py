"""The regularization layers and the kernel penalty under a two-replica MirroredStrategy."""

import numpy as np

from tests.distribute import run_in_two_replicas


def fit_two_replicas(strategy):
    import keras

    from deeprob_keras.layers import (DropConnectDense, FractionalMaxPooling2D, StochasticDepth,
                                      apply_weight_penalty, kernel_regularizer)

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(64, 9, 9, 1)).astype("float32")
    y = rng.integers(0, 3, size=(64,))
    with strategy.scope():
        inputs = keras.Input((9, 9, 1))
        h = keras.layers.Conv2D(4, 3, padding="same")(inputs)
        h = StochasticDepth(0.5, seed=1)([h, keras.layers.Conv2D(4, 3, padding="same")(h)])
        h = FractionalMaxPooling2D(1.5, seed=2)(h)
        h = keras.layers.Flatten()(h)
        outputs = DropConnectDense(3, rate=0.5, seed=3, activation="softmax")(h)
        model = keras.Model(inputs, outputs)
        apply_weight_penalty(model, kernel_regularizer("l2", l2=1e-2))
        model.compile(keras.optimizers.SGD(0.05), "sparse_categorical_crossentropy")
    history = model.fit(x, y, batch_size=16, epochs=2, verbose=0)
    penalty = float(sum(np.asarray(loss) for loss in model.losses))
    probs = np.asarray(model.predict(x, batch_size=16, verbose=0), "float64")
    data_loss = float(np.mean(-np.log(probs[np.arange(len(y)), y])))
    evaluated = model.evaluate(x, y, batch_size=16, verbose=0)
    return {"loss": history.history["loss"], "penalty": penalty, "data_loss": data_loss,
            "evaluated": float(evaluated),
            "replicas": strategy.num_replicas_in_sync}


def test_fit_under_two_replicas():
    result = run_in_two_replicas("tests.layers.test_layers_distributed:fit_two_replicas")
    assert result["replicas"] == 2
    assert len(result["loss"]) == 2 and np.all(np.isfinite(result["loss"]))
    assert result["penalty"] > 0.01
    # the penalty is counted once, not once per replica
    np.testing.assert_allclose(result["evaluated"], result["data_loss"] + result["penalty"], rtol=1e-4)
