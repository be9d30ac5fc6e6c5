"""Overhead of EMA averaging and of the update/weight ratio monitor, as ratios of fit wall time.

Same small CNN, same synthetic 28x28x1 data, same run: a bare fit, a fit with
optimizer EMA + SwapEMAWeights, a fit with UpdateRatioMonitor(every=10), and
both. Each configuration runs `--repeats` times (interleaved) after a warm-up
fit that traces the functions; the table reports the median time and its ratio
to the bare fit's median.

    .venv/bin/python benchmarks/callback_overhead.py [--images 4000] [--repeats 5] [--epochs 3]
"""

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from deeprob_keras.callbacks import UpdateRatioMonitor  # noqa: E402

CONFIGS = ("bare", "ema", "update_ratio(every=10)", "ema+update_ratio")


def make_model(use_ema):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(16, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Conv2D(32, 3, activation="relu"), keras.layers.MaxPooling2D(),
        keras.layers.Flatten(), keras.layers.Dense(64, activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, use_ema=use_ema, ema_momentum=0.995),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def callbacks_for(config):
    callbacks = []
    if "update_ratio" in config:
        callbacks.append(UpdateRatioMonitor(every=10, band=(0.0, 1e9)))
    if config.startswith("ema"):
        callbacks.append(keras.callbacks.SwapEMAWeights(swap_on_epoch=True))
    return callbacks


def time_fit(config, x, y, epochs, batch_size):
    model = make_model(use_ema=config.startswith("ema"))
    fit = dict(batch_size=batch_size, verbose=0, validation_split=0.1)
    model.fit(x[:batch_size * 2], y[:batch_size * 2], epochs=1, callbacks=callbacks_for(config), **fit)  # trace
    start, cpu_start = time.perf_counter(), time.process_time()
    model.fit(x, y, epochs=epochs, callbacks=callbacks_for(config), **fit)
    return time.perf_counter() - start, time.process_time() - cpu_start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "results", "callback_overhead.md"))
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    x = rng.random((args.images, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, size=args.images)
    load_before = os.getloadavg()[0]
    times = {c: [] for c in CONFIGS}
    cpu = {c: [] for c in CONFIGS}
    for r in range(args.repeats):
        for config in CONFIGS:  # interleaved, so drifts of the machine hit every config alike
            wall, cpu_s = time_fit(config, x, y, args.epochs, args.batch_size)
            times[config].append(wall)
            cpu[config].append(cpu_s)
            print(f"repeat {r + 1}/{args.repeats} {config:24s} {wall:.2f} s wall, {cpu_s:.2f} s CPU", flush=True)
    load_after = os.getloadavg()[0]
    base = statistics.median(times["bare"])
    base_min = min(times["bare"])
    base_cpu = statistics.median(cpu["bare"])
    steps = args.epochs * int(np.ceil(args.images * 0.9 / args.batch_size))
    lines = [
        "# Callback overhead (fit wall time, ratio to a bare fit)",
        "",
        f"Small CNN (2 conv + 2 dense, {make_model(False).count_params():,} parameters), synthetic 28x28x1, "
        f"{args.images} images (10% validation), batch {args.batch_size}, {args.epochs} epoch(s) = {steps} steps; "
        f"median of {args.repeats} interleaved repeats after a tracing warm-up; {os.cpu_count()} CPU cores; "
        f"1-min load average {load_before:.1f} before, {load_after:.1f} after (other work on the machine adds noise: "
        "compare with the min and CPU-time columns; CPU time is user+sys of this process, all threads).",
        "",
        "| configuration | median wall (s) | ratio (median wall) | min wall (s) | ratio (min wall) "
        "| median CPU (s) | ratio (median CPU) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for config in CONFIGS:
        med = statistics.median(times[config])
        low = min(times[config])
        c = statistics.median(cpu[config])
        lines.append(f"| {config} | {med:.2f} | {med / base:.3f} | {low:.2f} | {low / base_min:.3f} "
                     f"| {c:.2f} | {c / base_cpu:.3f} |")
    lines += ["", "Command: `.venv/bin/python benchmarks/callback_overhead.py "
              f"--images {args.images} --repeats {args.repeats} --epochs {args.epochs} --batch-size {args.batch_size}`", ""]
    text = "\n".join(lines)
    print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
