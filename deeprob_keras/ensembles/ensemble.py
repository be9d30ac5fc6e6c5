"""Model ensembles: average the predicted class distributions of several models."""

import keras
from keras import ops


def average_probabilities(member_probabilities):
    """Mean over members of their predicted distributions: (1/N) sum_i p_i(y | x).

    Args:
        member_probabilities: sequence of N tensors of shape (batch, classes).

    Returns:
        Tensor of shape (batch, classes).
    """
    return ops.mean(ops.stack(list(member_probabilities), axis=0), axis=0)


def _input_shape(model):
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape) if isinstance(shape, (list, tuple)) and not isinstance(shape[0], (list, tuple)) else shape


@keras.saving.register_keras_serializable(package="deeprob")
class Ensemble(keras.Model):
    """An ensemble of classifiers whose output is the mean of their class distributions.

        p(y | x) = (1 / N) * sum_i p_i(y | x)

    The lecture's recipe: train N independent models (different initializations,
    or snapshots of one run with a cyclic learning rate) and average their
    predictions at test time, typically +1-2% accuracy. Class predictions are the
    argmax of the averaged distribution (`predict_classes`).

    The ensemble is a plain `keras.Model`: it saves to and loads from `.keras`
    (members are serialized inside its config) and exports like any model.

    Args:
        members: list of >= 1 `keras.Model`s with the same input shape and the
            same number of classes.
        from_logits: bool, whether the members output logits (a softmax is then
            applied to each member before averaging). Defaults to False
            (members output probabilities).

    Example:

    ```python
    ensemble = Ensemble([model_a, model_b, model_c])
    probabilities = ensemble.predict(x)
    classes = ensemble.predict_classes(x)
    ```
    """

    def __init__(self, members, from_logits=False, **kwargs):
        super().__init__(**kwargs)
        members = list(members or [])
        if not members:
            raise ValueError(f"Expected a non-empty list of models. Received: members={members}")
        bad = [type(m).__name__ for m in members if not isinstance(m, keras.Model)]
        if bad:
            raise ValueError(f"Expected keras.Model members. Received: members of types {bad}")
        shapes = {str(s) for s in (_input_shape(m) for m in members) if s is not None}
        if len(shapes) > 1:
            raise ValueError(f"Expected members with identical input shapes. Received: input shapes {sorted(shapes)}")
        if not isinstance(from_logits, bool):
            raise ValueError(f"Expected a bool. Received: from_logits={from_logits}")
        self.members = members
        self.from_logits = from_logits

    def call(self, inputs, training=False):
        outputs = []
        for member in self.members:
            y = member(inputs, training=training)
            outputs.append(ops.softmax(y, axis=-1) if self.from_logits else y)
        return average_probabilities(outputs)

    def build(self, input_shape):
        for member in self.members:
            if not member.built:
                member.build(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return self.members[0].compute_output_shape(input_shape)

    def predict_classes(self, x, **kwargs):
        """Argmax of the averaged distribution, as a NumPy int array."""
        return ops.convert_to_numpy(ops.argmax(self.predict(x, **kwargs), axis=-1))

    @classmethod
    def from_snapshots(cls, model, weight_list, from_logits=False, **kwargs):
        """One member per weight list: a clone of `model` with those weights.

        Args:
            model: a functional or Sequential `keras.Model` (the architecture).
            weight_list: list of `model.get_weights()`-style lists, e.g.
                `SnapshotEnsemble.snapshots`.
        """
        weight_list = list(weight_list or [])
        if not weight_list:
            raise ValueError(f"Expected a non-empty list of weight lists. Received: weight_list={weight_list}")
        members = []
        for i, weights in enumerate(weight_list):
            clone = keras.models.clone_model(model)
            clone.set_weights(weights)
            members.append(clone)
        return cls(members, from_logits=from_logits, **kwargs)

    @classmethod
    def from_models(cls, models, from_logits=False, **kwargs):
        """An ensemble of N independently trained models (used as they are, not copied)."""
        return cls(list(models), from_logits=from_logits, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update({
            "members": [keras.saving.serialize_keras_object(m) for m in self.members],
            "from_logits": self.from_logits,
        })
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        members = [keras.saving.deserialize_keras_object(m, custom_objects=custom_objects)
                   for m in config.pop("members")]
        return cls(members, **config)
