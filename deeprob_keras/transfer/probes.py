"""Linear probes: how good are the features at each depth of a pretrained network?

The lecture's advice for a small target that differs from the source: "try
linear classifiers from different stages". For each layer name, the features
(globally average-pooled when 4-D) are computed once with the frozen network,
standardized with the training mean and std, and a softmax linear classifier
(Dense) is trained on them with Adam.
"""

import keras
import numpy as np
import tensorflow as tf


def default_probe_layers(model):
    """`stage{i}` layers and `features` of one of our models, bottom to top."""
    names = [layer.name for layer in model.layers]
    stages = sorted((n for n in names if n.startswith("stage") and n[5:].isdigit()), key=lambda n: int(n[5:]))
    return stages + (["features"] if "features" in names else [])


def _pooled_output(model, layer_name):
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"stage_probes: no layer named {layer_name!r} in {model.name!r}. "
                         f"Available layers: {', '.join(names)}")
    out = model.get_layer(layer_name).output
    if len(out.shape) == 4:
        return keras.layers.GlobalAveragePooling2D()(out)
    if len(out.shape) != 2:
        raise ValueError(f"stage_probes: layer {layer_name!r} gives shape {tuple(out.shape)}; expected 2-D or 4-D")
    return out


def _feature_fn(model, layer_names, adapter=None):
    """One compiled forward pass giving the pooled features of every probed layer."""
    multi = keras.Model(model.inputs, [_pooled_output(model, n) for n in layer_names])

    @tf.function
    def features(x):
        return multi(adapter(x) if adapter is not None else x, training=False)

    return features


def _collect(dataset, features):
    feats, labels = [], []
    for x, y in dataset:
        out = features(x)
        feats.append([f.numpy() for f in (out if isinstance(out, (list, tuple)) else [out])])
        y = y.numpy()
        labels.append(y.argmax(-1) if y.ndim == 2 else y)
    per_layer = [np.concatenate([batch[i] for batch in feats]) for i in range(len(feats[0]))]
    return per_layer, np.concatenate(labels).astype(np.int64)


def train_linear_probe(x_train, y_train, num_classes, epochs=30, learning_rate=1e-2, batch_size=64, seed=0):
    """A softmax linear classifier on fixed features; returns the fitted Keras model."""
    keras.utils.set_random_seed(seed)
    probe = keras.Sequential([keras.Input((x_train.shape[1],)), keras.layers.Dense(num_classes, activation="softmax")])
    probe.compile(keras.optimizers.Adam(learning_rate), "sparse_categorical_crossentropy", metrics=["accuracy"])
    probe.fit(x_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)
    return probe


def probe_accuracies(backbone_model, layer_names, datasets, epochs=30, learning_rate=1e-2, adapter=None,
                     verbose=0, seed=0):
    """Like `stage_probes`, with {stage: {"validation": acc or None, "test": acc}}."""
    if epochs < 1:
        raise ValueError(f"Expected epochs >= 1. Received: epochs={epochs}")
    layer_names = list(layer_names) or default_probe_layers(backbone_model)
    features = _feature_fn(backbone_model, layer_names, adapter)
    train_x, train_y = _collect(datasets.train, features)
    test_x, test_y = _collect(datasets.test, features)
    val_x, val_y = _collect(datasets.validation, features) if datasets.validation is not None else (None, None)
    results = {}
    for i, name in enumerate(layer_names):
        mean, std = train_x[i].mean(0), train_x[i].std(0) + 1e-6
        probe = train_linear_probe((train_x[i] - mean) / std, train_y, datasets.num_classes, epochs, learning_rate,
                                   seed=seed)

        def accuracy(x, y):
            return float(np.mean(probe.predict((x - mean) / std, verbose=0).argmax(-1) == y))

        results[name] = {"validation": accuracy(val_x[i], val_y) if val_x is not None else None,
                         "test": accuracy(test_x[i], test_y)}
        if verbose:
            print(f"probe {name:<12} {train_x[i].shape[1]:>5} features  test accuracy {results[name]['test']:.4f}",
                  flush=True)
    return results


def stage_probes(backbone_model, layer_names, datasets, epochs=30, learning_rate=1e-2, adapter=None, verbose=0):
    """Trains one linear classifier per layer on frozen features; returns {layer name: test accuracy}.

    Args:
        backbone_model: a Keras functional model whose input fits `datasets`
            (or fits after `adapter`).
        layer_names: layers to probe (empty: our models' `stage{i}` + `features`).
        datasets: `deeprob_keras.data.Datasets` of the target.
        epochs: epochs of each linear classifier (features are computed once).
        learning_rate: Adam's learning rate.
        adapter: optional layer applied to the images first (e.g. `ImageAdapter`).

    Example:
        >>> stage_probes(keras.saving.load_model("runs/pretrain_fashion_0_4/model.keras"),
        ...              ["stage0", "stage1", "stage2", "features"], load_datasets("digits", image_size=28))
        {'stage0': 0.83, 'stage1': 0.91, 'stage2': 0.88, 'features': 0.86}
    """
    results = probe_accuracies(backbone_model, layer_names, datasets, epochs, learning_rate, adapter, verbose)
    return {name: r["test"] for name, r in results.items()}
