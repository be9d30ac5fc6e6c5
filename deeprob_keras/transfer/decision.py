"""`advise`: the lecture's transfer-learning table as a function.

|                     | similar dataset              | very different dataset                    |
| ------------------- | ---------------------------- | ----------------------------------------- |
| very little data    | linear classifier on top layer | you're in trouble... try linear classifiers from different stages |
| quite a lot of data | fine-tune a few layers       | fine-tune a larger number of layers       |

"Little data" means fewer than `LITTLE_DATA_THRESHOLD` = 100 training
examples per class (the order of magnitude where a network trained from
scratch overfits badly). Similarity can be given ("similar" / "different") or
measured from stage probes (`similarity_from_probes`): the target is "similar"
when the linear probe on the top layer is within `SIMILARITY_TOLERANCE`
(0.02 absolute accuracy) of the best stage's probe, i.e. the source's most
specific features are (nearly) the best ones for the target.
"""

import dataclasses
import json

LITTLE_DATA_THRESHOLD = 100
SIMILARITY_TOLERANCE = 0.02
SIMILARITIES = ("similar", "different")
CHOICES = ("linear_top", "fine_tune_few", "probe_stages", "fine_tune_many")


@dataclasses.dataclass
class Advice:
    """What to do (`choice`, one of CHOICES), why (`explanation`), and the recipe knobs that do it."""

    choice: str
    explanation: str
    transfer: dict

    def __str__(self):
        knobs = ", ".join(f"{k}={v}" for k, v in self.transfer.items())
        return f"{self.choice}: {self.explanation}\nrecipe transfer section: {knobs}"


def similarity_from_probes(probe_results, top_layer=None, tolerance=SIMILARITY_TOLERANCE):
    """"similar" when the top layer's probe accuracy is within `tolerance` of the best stage's.

    Args:
        probe_results: {layer name: accuracy} in bottom-to-top order (as
            `stage_probes` returns), or a path of a JSON file holding it.
        top_layer: the layer that counts as the top (default: the last key).
        tolerance: absolute accuracy gap still called "similar".
    """
    if isinstance(probe_results, str):
        with open(probe_results) as f:
            probe_results = json.load(f)
    if not probe_results:
        raise ValueError("probe_results must hold at least one {layer: accuracy}. Received: {}")
    top_layer = top_layer or list(probe_results)[-1]
    if top_layer not in probe_results:
        raise ValueError(f"top_layer {top_layer!r} is not in probe_results ({', '.join(probe_results)})")
    best = max(probe_results.values())
    return "similar" if probe_results[top_layer] >= best - tolerance else "different"


def advise(examples_per_class, similarity):
    """The lecture's advice for a target with `examples_per_class` and a `similarity` to the source.

    Args:
        examples_per_class: int >= 1, training examples per class of the target.
        similarity: "similar" or "different" (see `similarity_from_probes`).

    Returns:
        `Advice(choice, explanation, transfer)`.

    Example:
        >>> advise(10, "similar").choice
        'linear_top'
    """
    if isinstance(examples_per_class, bool) or not isinstance(examples_per_class, int) or examples_per_class < 1:
        raise ValueError(f"Expected examples_per_class to be an integer >= 1. "
                         f"Received: examples_per_class={examples_per_class!r}")
    if similarity not in SIMILARITIES:
        raise ValueError(f"Expected similarity to be one of {list(SIMILARITIES)}. Received: similarity={similarity!r}")
    little = examples_per_class < LITTLE_DATA_THRESHOLD
    amount = (f"{examples_per_class} examples per class is {'little' if little else 'quite a lot of'} data "
              f"(threshold {LITTLE_DATA_THRESHOLD})")
    if similarity == "similar" and little:
        return Advice("linear_top", f"{amount} and the dataset is similar to the source: use a linear classifier "
                      "on the top layer (feature extraction, backbone frozen).",
                      {"mode": "feature_extraction", "cut_layer": "features", "head_hidden": 0})
    if similarity == "similar":
        return Advice("fine_tune_few", f"{amount} and the dataset is similar: fine-tune a few layers "
                      "(the top stage), at ~1/10 of the learning rate, after training the head first.",
                      {"mode": "two_phase", "freeze_fraction": 0.7, "lr_factor": 0.1})
    if little:
        return Advice("probe_stages", f"{amount} and the dataset is very different: you're in trouble... "
                      "try linear classifiers from different stages (`deeprob transfer probes`) and "
                      "cut at the best one.",
                      {"mode": "feature_extraction", "cut_layer": "<best stage from probes>", "head_hidden": 0})
    return Advice("fine_tune_many", f"{amount} and the dataset is very different: fine-tune a larger number "
                  "of layers (most of the backbone), at ~1/10 of the learning rate, after training the head first.",
                  {"mode": "two_phase", "freeze_fraction": 0.2, "lr_factor": 0.1})
