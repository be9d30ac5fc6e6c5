"""Step 2: overfit a small sample (5-10 minibatches) with regularization off.

A model that cannot reach 100% training accuracy on a handful of batches has
a bug, or the learning rate / initialization is wrong: if the loss does not
go down the learning rate is too low (or the initialization is bad); if it
turns Inf/NaN or explodes, it is too high (or the initialization is bad).
"""

import numpy as np

from deeprob_keras.doctor import _harness
from deeprob_keras.doctor.learning_rate_verdict import CAUSE_HIGH, CAUSE_LOW, TOO_HIGH, TOO_LOW, classify_learning_rate
from deeprob_keras.doctor.verdict import Verdict


def overfit_small_sample(recipe, num_batches=5, max_steps=600, batch_size=None, learning_rate=None,
                         datasets=None, verbose=True):
    """Trains on `num_batches` fixed batches until 100% training accuracy or `max_steps`.

    No penalty, dropout, augmentation or weight decay; constant learning rate
    (the recipe's unless `learning_rate` is given). Training accuracy is that of
    the training-mode forward pass over all the batches of one pass (epoch).

    Args:
        recipe: a `Recipe`.
        num_batches: fixed minibatches, in [1, 100]. Default 5.
        max_steps: optimizer steps budget, >= num_batches. Default 600.
        batch_size: batch size of the sample; default the recipe's.
        learning_rate: override of the recipe's learning rate.
        datasets: optional `Datasets` batched at `batch_size` (sparse labels).
        verbose: print a line every 10 passes.

    Returns:
        A `Verdict` (step 2) with `measured["losses"]` (every step), `steps`,
        `final_accuracy`, `lr_verdict` ("too high", "too low" or "ok").

    Example:
        >>> v = overfit_small_sample(recipe, num_batches=5)
        >>> v.passed, v.measured["steps"]
    """
    if isinstance(num_batches, bool) or not isinstance(num_batches, int) or not 1 <= num_batches <= 100:
        raise ValueError(f"Expected an integer in [1, 100]. Received: num_batches={num_batches}")
    if isinstance(max_steps, bool) or not isinstance(max_steps, int) or max_steps < num_batches:
        raise ValueError(f"Expected an integer >= num_batches ({num_batches}). Received: max_steps={max_steps}")
    plain = _harness.without_regularization(recipe)
    batch_size = batch_size or recipe.training.batch_size
    datasets = datasets or _harness.load_plain_datasets(plain, batch_size)
    batches = _harness.fixed_batches(datasets.train, num_batches)
    trainer = _harness.Trainer(plain, datasets.image_shape, datasets.num_classes, learning_rate=learning_rate)
    lr = trainer.current_learning_rate()
    losses, epoch_acc = [], []
    steps, accuracy, finite = 0, 0.0, True
    while steps < max_steps:
        accs = []
        for x, y in batches:
            loss, acc = trainer.step(x, y)
            losses.append(loss)
            accs.append(acc)
            steps += 1
            if not np.isfinite(loss):
                finite = False
                break
        if not finite:
            break
        accuracy = float(np.mean(accs))
        epoch_acc.append(accuracy)
        if verbose and len(epoch_acc) % 10 == 0:
            print(f"  overfit: step {steps:4d}  loss {losses[-1]:.4f}  train accuracy {accuracy:.3f}", flush=True)
        if accuracy >= 1.0:
            break
    label, drop = classify_learning_rate(losses, window=num_batches)
    first_mean = float(np.mean(losses[:num_batches]))  # reported; the verdict uses losses[0]
    last_mean = float(np.mean(losses[-num_batches:]))
    passed = finite and accuracy >= 1.0
    n = num_batches * int(batches[0][1].shape[0])
    measured = {"learning_rate": lr, "num_batches": num_batches, "examples": n, "steps": steps,
                "max_steps": max_steps, "final_accuracy": accuracy, "first_pass_loss": first_mean,
                "last_pass_loss": last_mean, "relative_drop": drop, "lr_verdict": label,
                "losses": losses, "epoch_accuracy": epoch_acc}
    if passed:
        message = f"100% training accuracy on {n} examples ({num_batches} batches) after {steps} steps at lr={lr:g}"
        cause = ""
    else:
        message = (f"{accuracy:.1%} training accuracy on {n} examples after {steps} steps at lr={lr:g}; "
                   f"mean loss of a pass {first_mean:.3g} -> {last_mean:.3g} (learning rate {label})")
        if label == TOO_HIGH:
            cause = CAUSE_HIGH
        elif label == TOO_LOW:
            cause = CAUSE_LOW
        else:
            cause = "the loss goes down but too slowly: give it more steps, a higher learning rate or a bigger model."
    return Verdict(2, "overfit a small sample", passed, measured, message, cause)
