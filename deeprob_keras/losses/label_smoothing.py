"""Label smoothing for sparse integer and soft (one-hot, Mixup) targets."""

import keras
from keras import ops


def _check_epsilon(epsilon):
    if not isinstance(epsilon, (int, float)) or isinstance(epsilon, bool) or not 0.0 <= epsilon < 1.0:
        raise ValueError(
            f"Expected a float value in [0, 1) for `epsilon`. Received: epsilon={epsilon}")


def _check_num_classes(num_classes):
    if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 2:
        raise ValueError(
            f"Expected an integer >= 2 for `num_classes`. Received: num_classes={num_classes}")


def _to_distribution(labels, num_classes):
    """Sparse labels of shape (B,) or (B, 1) -> one-hot; (B, K) soft labels unchanged.

    The format is read from the static shape only (Keras casts `y_true` to the
    loss dtype before `call`): rank >= 2 with last dimension K means soft labels.
    """
    labels = ops.convert_to_tensor(labels)
    shape = labels.shape
    if len(shape) >= 2 and shape[-1] == num_classes:
        return ops.cast(labels, "float32")
    if len(shape) >= 2 and shape[-1] == 1:
        labels = ops.squeeze(labels, axis=-1)
    return ops.one_hot(ops.cast(labels, "int32"), num_classes, dtype="float32")


def smooth_labels(labels, num_classes, epsilon):
    """Smoothed target distribution of label smoothing (Szegedy et al., 2016).

    `y_smooth = (1 - epsilon) * y + epsilon / K`: the true class gets
    `1 - (K - 1) / K * epsilon`, every other class `epsilon / K`. Soft targets
    (e.g. Mixup's) are smoothed by the same affine map, which commutes with mixing.

    Args:
        labels: integer labels of shape `(B,)` or `(B, 1)`, or float one-hot /
            soft targets of shape `(B, K)`.
        num_classes: int >= 2, the number of classes `K`.
        epsilon: float in [0, 1), the smoothing strength.

    Returns:
        float32 tensor of shape `(B, K)`.

    Example:
    >>> smooth_labels([0, 2], num_classes=3, epsilon=0.3)  # [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]]
    """
    _check_num_classes(num_classes)
    _check_epsilon(epsilon)
    y = _to_distribution(labels, num_classes)
    return y * (1.0 - epsilon) + epsilon / num_classes


@keras.saving.register_keras_serializable(package="deeprob")
class SmoothedCrossentropy(keras.losses.Loss):
    """Categorical cross-entropy against label-smoothed targets.

    `loss = -sum_k y_smooth_k * log p_k` with `y_smooth = (1 - epsilon) * y + epsilon / K`.
    Unlike `keras.losses.SparseCategoricalCrossentropy` (no `label_smoothing` in
    Keras 3.12), this loss takes integer labels of shape `(B,)` / `(B, 1)` as well
    as one-hot or soft labels of shape `(B, K)` (Mixup / CutMix targets); the
    label format is read from the static shape and dtype of `y_true`.

    Args:
        epsilon: float in [0, 1), smoothing strength; 0 gives plain cross-entropy.
        num_classes: int >= 2, the number of classes `K`.
        from_logits: bool, whether `y_pred` are logits (default False: probabilities).
        reduction, name: as for `keras.losses.Loss`.

    Example:
    >>> loss = SmoothedCrossentropy(epsilon=0.1, num_classes=10, from_logits=True)
    >>> model.compile(optimizer="sgd", loss=loss, metrics=["accuracy"])  # sparse labels
    """

    def __init__(self, epsilon=0.1, num_classes=None, from_logits=False,
                 reduction="sum_over_batch_size", name="smoothed_crossentropy", dtype=None):
        _check_epsilon(epsilon)
        _check_num_classes(num_classes)
        if not isinstance(from_logits, bool):
            raise ValueError(f"Expected a bool for `from_logits`. Received: from_logits={from_logits}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.epsilon = float(epsilon)
        self.num_classes = num_classes
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        target = smooth_labels(y_true, self.num_classes, self.epsilon)
        target = ops.cast(target, y_pred.dtype)
        if self.from_logits:
            log_p = ops.log_softmax(y_pred, axis=-1)
        else:
            probs = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
            log_p = ops.log(ops.clip(probs, keras.config.epsilon(), 1.0 - keras.config.epsilon()))
        return -ops.sum(target * log_p, axis=-1)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon,
                "num_classes": self.num_classes, "from_logits": self.from_logits}
