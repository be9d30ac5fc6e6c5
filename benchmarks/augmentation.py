"""Augmentation throughput: ours vs Keras 3 core vs keras-cv 0.9.

Images/s for batches of 128 on 32x32x3 and 28x28x1 float32 images in [0, 1],
(a) calling the augmentation inside a `tf.function` on one batch, and (b) as a
parallel `tf.data` map over a repeated in-memory dataset. "fails" means the
implementation raised on that input. Writes benchmarks/results/augmentation.md.

Run: .venv/bin/python benchmarks/augmentation.py [--seconds 1.0]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import keras_cv  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from deeprob_keras.augment import (  # noqa: E402
    BatchedRandAugment, CutMix, MixUp, RandAugment, RandomErasing, build_augmentation)
from deeprob_keras.recipe.schema import AugmentationSpec  # noqa: E402

BATCH, K = 128, 10
RANDAUGMENT = "RandAugment (N=2, M=0.5)"
BATCHED, KERAS_CV_INSIDE = "ours batched (BatchedRandAugment)", "ours (keras-cv inside)"


def image_op(layer):
    return lambda x, y: (layer(x, training=True), y)


def dict_op(layer):  # keras core / keras-cv MixUp & CutMix want and return dicts
    def fn(x, y):
        out = layer({"images": x, "labels": y}, training=True)
        return out["images"], out["labels"]
    return fn


def stack_op(image_fn, batch_fn):
    def fn(x, y):
        if image_fn is not None:
            x = image_fn(x, training=True)
        return batch_fn(x, y) if batch_fn is not None else (x, y)
    return fn


def candidates(shape):
    size, channels = shape[0], shape[2]
    spec = AugmentationSpec(flip=True, scale_min=size, scale_max=size + 8, crop_size=size, randaugment_ops=2,
                            randaugment_magnitude=0.5, random_erasing=0.25, mixup_alpha=0.2, cutmix_alpha=1.0)
    ours_stack = build_augmentation(spec, K, seed=0)
    core_stack = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                                   keras.layers.RandAugment(value_range=(0, 1), num_ops=2, factor=0.5),
                                   keras.layers.RandomErasing(factor=(0.25, 0.25), value_range=(0, 1))])
    core_mix = keras.layers.MixUp(alpha=0.2)
    return {
        "MixUp": [("ours", MixUp(0.2, seed=0)), ("keras core", dict_op(keras.layers.MixUp(alpha=0.2))),
                  ("keras-cv", dict_op(keras_cv.layers.MixUp(alpha=0.2)))],
        "CutMix": [("ours", CutMix(1.0, seed=0)), ("keras core", dict_op(keras.layers.CutMix(factor=1.0))),
                   ("keras-cv", dict_op(keras_cv.layers.CutMix(alpha=1.0)))],
        RANDAUGMENT: [
            (BATCHED, image_op(BatchedRandAugment(2, 0.5, seed=0))),
            ("ours batched, dense (every op on every image)",
             image_op(BatchedRandAugment(2, 0.5, dispatch="dense", seed=0))),
            (KERAS_CV_INSIDE, image_op(RandAugment(2, 0.5, implementation="keras_cv", seed=0))),
            ("keras core", image_op(keras.layers.RandAugment(value_range=(0, 1), num_ops=2, factor=0.5))),
            ("keras-cv", image_op(keras_cv.layers.RandAugment(value_range=(0, 1), augmentations_per_image=2,
                                                              magnitude=0.5)))],
        "Random erasing (p=0.5)": [
            ("ours", image_op(RandomErasing(0.5, fill="random", seed=0))),
            ("keras core RandomErasing", image_op(keras.layers.RandomErasing(factor=(0.5, 0.5), value_range=(0, 1)))),
            ("keras-cv RandomCutout", image_op(keras_cv.layers.RandomCutout(0.3, 0.3, fill_mode="gaussian_noise")))],
        "Full stack (flip, scale crop, RandAugment, erasing, Mixup|CutMix)": [
            ("ours (build_augmentation, batched RandAugment)", stack_op(*ours_stack)),
            ("keras core (flip, RandAugment, erasing, MixUp)", lambda x, y: dict_op(core_mix)(core_stack(x, training=True), y)),
        ],
    }


def timed(fn, seconds):
    fn()
    count, start = 0, time.perf_counter()
    while True:
        count += fn()
        elapsed = time.perf_counter() - start
        if elapsed > seconds:
            return count / elapsed


def in_tf_function(op, x, y, seconds):
    graph = tf.function(op)

    def once():
        out = graph(x, y)
        out[0].numpy()
        return BATCH
    return timed(once, seconds)


def in_tf_data(op, x, y, seconds):
    ds = tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(BATCH, drop_remainder=True)
    ds = ds.map(op, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
    it = iter(ds)

    def once():
        next(it)[0].numpy()
        return BATCH
    return timed(once, seconds)


def randaugment_ratios(rows):
    """Markdown bullet lines: batched img/s / keras-cv img/s per image shape and mode."""
    cells = {(r[1], r[2]): r[3:] for r in rows if r[0] == RANDAUGMENT}
    lines = []
    for shape in sorted({r[1] for r in rows}):
        ours = cells.get((shape, BATCHED))
        for reference in ("keras-cv", KERAS_CV_INSIDE):
            ref = cells.get((shape, reference))
            if ours is None or ref is None or "fails" in ref:
                continue
            ratios = [float(a.replace(",", "")) / float(b.replace(",", "")) for a, b in zip(ours, ref)]
            lines.append(f"- {shape}: {ratios[0]:.1f}x in tf.function, {ratios[1]:.1f}x in the tf.data map "
                         f"(vs {reference})")
            break
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="measuring time per cell")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for shape in ((32, 32, 3), (28, 28, 1)):
        x = tf.constant(rng.uniform(size=(BATCH * 8,) + shape).astype("float32"))
        y = tf.one_hot(rng.integers(0, K, size=BATCH * 8), K)
        for technique, impls in candidates(shape).items():
            for name, op in impls:
                cells = []
                for mode in (in_tf_function, in_tf_data):
                    xs, ys = (x[:BATCH], y[:BATCH]) if mode is in_tf_function else (x, y)
                    try:
                        cells.append(f"{mode(op, xs, ys, args.seconds):,.0f}")
                    except Exception as err:  # noqa: BLE001 - report and go on
                        cells.append("fails")
                        print(f"  {technique} / {name} / {shape}: {type(err).__name__}: {str(err)[:150]}",
                              file=sys.stderr)
                row = (technique, "x".join(map(str, shape)), name, *cells)
                rows.append(row)
                print(" | ".join(row), flush=True)
    header = ("technique", "images", "implementation", "tf.function img/s", "tf.data map img/s")
    lines = ["# Augmentation throughput", "",
             f"Batch {BATCH}, float32 in [0, 1], {len(os.sched_getaffinity(0))} of {os.cpu_count()} CPU cores usable, "
             f"TF {tf.__version__}, "
             f"Keras {keras.__version__}, keras-cv {keras_cv.__version__}. "
             "Produced by `.venv/bin/python benchmarks/augmentation.py`; one run; "
             f"load average at the end {os.getloadavg()[0]:.1f} (other processes share the cores: "
             "compare rows of one run, not absolute figures across runs).", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += ["", "RandAugment speed-up of the batched layer over keras-cv's in the same run (keras-cv's own layer "
              "where it runs, else our wrapper that feeds it 3 channels):", ""]
    lines += randaugment_ratios(rows)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "augmentation.md")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
