"""How close training gets to the CPU's float32 peak, and what holds it back.

Measured in one run on this machine:

1. the peak through TensorFlow: a 2048x2048 float32 matmul and a large 3x3
   convolution (32 x 56 x 56 x 128 -> 128), each in a `tf.function`, GFLOP/s;
2. for each recipe (default: the default and the fast recipe), its training
   FLOPs per example (`deeprob_keras.models.flops`: conv + dense, 3 x forward)
   and its training throughput three ways, so that each layer of overhead
   shows:
   - `pipeline`: `fit` on the recipe's own tf.data input (augmentation on),
     as `deeprob train` runs it;
   - `in-memory`: `fit` on batches already in memory (no input pipeline);
   - `compiled loop`: the same with `steps_per_execution=50` (Keras runs 50
     steps per Python call: no per-step Python overhead);
   - `pipeline, bfloat16`: as `pipeline` with `training.precision:
     mixed_bfloat16` (bfloat16 compute; fast only on CPUs with bfloat16
     units such as AVX512_BF16; the FLOP count is the same).
   Achieved GFLOP/s = images/s x FLOPs per image; the ratio to the matmul
   peak says how close to the machine each recipe trains.

Writes benchmarks/results/flops_efficiency.{md,json}.

    .venv/bin/python benchmarks/flops_efficiency.py [--steps 60] [--recipes ...]
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(1, os.path.dirname(os.path.abspath(__file__)))  # the sibling scripts, by their names
import results_io  # noqa: E402

DEFAULT_RECIPES = ("recipes/fashion_mnist.yaml", "recipes/fashion_mnist_fast.yaml", "recipes/fashion_mnist_wide.yaml")


def cpu_features():
    """The vector / bfloat16 features of this CPU that decide what TensorFlow's kernels can use."""
    from deeprob_keras.training.precision import cpu_flags

    wanted = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16")
    flags = cpu_flags()
    if flags is None:
        return {"model": "?", "features": []}
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    return {"model": model, "features": [w for w in wanted if w in flags]}


def peak_gflops(seconds=3.0):
    """GFLOP/s of a 2048^2 float32 matmul and of a large 3x3 convolution, each the best of a few timings."""
    import tensorflow as tf

    n = 2048
    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)))
    x = tf.random.normal((32, 56, 56, 128))
    k = tf.random.normal((3, 3, 128, 128))
    conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv2d(x, k, 1, "SAME")))
    out = {}
    for name, fn, flops in (("matmul_2048", matmul, 2 * n ** 3),
                            ("conv3x3_56x56x128", conv, 2 * 32 * 56 * 56 * 9 * 128 * 128)):
        fn().numpy()
        best, deadline = float("inf"), time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            fn().numpy()
            best = min(best, time.perf_counter() - started)
        out[name] = flops / best / 1e9
    return out


def translation_throughput(batches=200, batch=128):
    """Images/s of a tf.data map that translates batches of 28x28x1 images by up to 2 pixels:
    Keras's RandomTranslation (projective transform, nearest, zero fill; what PixelTranslation
    uses) against a batched pad-and-gather translation written for comparison."""
    import keras
    import numpy as np
    import tensorflow as tf

    from keras import ops

    x = np.random.default_rng(0).uniform(size=(batch, 28, 28, 1)).astype("float32")
    gen = keras.random.SeedGenerator(0)

    def gather_translation(images, training=True):  # pad, then two gathers with per-image offsets
        t, n = 2, ops.shape(images)[0]
        padded = ops.pad(images, [[0, 0], [t, t], [t, t], [0, 0]])
        rows = keras.random.randint((n,), 0, 2 * t + 1, seed=gen)[:, None] + ops.arange(28)[None, :]
        cols = keras.random.randint((n,), 0, 2 * t + 1, seed=gen)[:, None] + ops.arange(28)[None, :]
        out = ops.take_along_axis(padded, ops.broadcast_to(rows[:, :, None, None], (n, 28, 32, 1)), axis=1)
        return ops.take_along_axis(out, ops.broadcast_to(cols[:, None, :, None], (n, 28, 28, 1)), axis=2)

    layers = {"keras_random_translation": keras.layers.RandomTranslation(
                  2 / 28, 2 / 28, fill_mode="constant", interpolation="nearest", seed=0),
              "pixel_translation": gather_translation}
    out = {}
    for name, layer in layers.items():
        ds = tf.data.Dataset.from_tensors(x).repeat(batches).map(
            lambda images: layer(images, training=True), num_parallel_calls=tf.data.AUTOTUNE)
        for _ in ds.take(5):
            pass
        started = time.perf_counter()
        for _ in ds:
            pass
        out[name] = batches * batch / (time.perf_counter() - started)
    return out


def steady_images_per_second(model, dataset, steps, batch, per_execution=1):
    """Steady-state images per second of `fit`: one call of warm-up + `steps` steps, timed from the end of the
    warm-up (at least 5 steps: tracing, the iterator's start-up and the first prefetch) to the end of the last
    step, so that start-up costs paid once per `fit` call are not counted as training throughput."""
    import keras

    warmup = per_execution * max(1, -(-5 // per_execution))
    ends = []
    clock = keras.callbacks.LambdaCallback(on_train_batch_end=lambda step, logs: ends.append((step, time.perf_counter())))
    model.fit(dataset, steps_per_epoch=warmup + steps, epochs=1, verbose=0, callbacks=[clock])
    first_step, started = next((s, t) for s, t in ends if s >= warmup - 1)
    last_step, finished = ends[-1]
    return batch * (last_step - first_step) / (finished - started)


def load_average_text():
    """The 1, 5 and 15 minute load averages, as "1.2 1.9 2.0"."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def side_by_side_footer(result):
    """The closing lines of a side-by-side timing report: the load around it, the CPU, when, the command."""
    return ["", f"Load average (1, 5, 15 min) before: {result['load_before']}; after: {result['load_after']}. "
            f"{result['cpu']}, {result['when']}.", "", f"Command: `{result['command']}`"]


def side_by_side_step_seconds(recipe_path, variants, steps=100, rounds=3):
    """Seconds per training step of each variant of a recipe ({name: recipe overrides}), side by side:
    `side_by_side_recipes` with every variant built from `recipe_path`."""
    return side_by_side_recipes({name: (recipe_path, overrides) for name, overrides in variants.items()},
                                steps, rounds)


def side_by_side_recipes(recipes, steps=100, rounds=3):
    """Seconds per training step of each recipe ({name: (recipe path, overrides)}), side by side.

    An entry may name a third item, the `tf.distribute.Strategy` to compile and train it under (else the
    default strategy), to time one recipe with and without a strategy (`strategy_overhead.py`).

    Each recipe's compiled model and augmenting input pipeline are built and warmed up first; then each
    round times `steps` steps of every recipe in turn (the steady state: a `fit` call's start-up is not
    timed), so that a shared VM's drifting speed touches every recipe alike; the median over rounds is
    kept. Returns {name: {"seconds_per_step", "rounds" (each round's seconds), "parameters",
    "train_flops_per_example", "batch_size"}}; a recipe with progressive resizing is also timed at every side
    its epochs train at below full size ("seconds_per_step_at_side": {side: seconds}, "epoch_sides": the side of
    each epoch).
    """
    import numpy as np
    import tensorflow as tf

    from deeprob_keras.callbacks.progressive_resizing import progressive_resize_layers
    from deeprob_keras.layers import progressive_sizes
    from deeprob_keras.models.flops import training_flops_per_example
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.plan import RunPlan
    from deeprob_keras.training.run import build_compiled_model, load_augmented_datasets

    built, sides = {}, {}
    for name, (recipe_path, overrides, *rest) in recipes.items():
        strategy = rest[0] if rest and rest[0] is not None else tf.distribute.get_strategy()
        recipe = with_overrides(load_recipe(recipe_path), overrides)
        batch = recipe.training.batch_size
        data = load_augmented_datasets(recipe, batch)
        model, _ = build_compiled_model(recipe, data, strategy, batch)
        source = data.train.repeat()
        model.fit(source, steps_per_epoch=5, epochs=1, verbose=0)  # traced and warm
        built[name] = (model, source, batch)
        resize = RunPlan.from_recipe(recipe, 1).progressive_resize
        if resize is not None:
            layers = progressive_resize_layers(model)
            sides[name] = (layers, progressive_sizes(resize[0], layers[0].full_shape[0], resize[1],
                                                     recipe.training.epochs))
    seconds = {name: [] for name in recipes}
    at_side = {name: {s: [] for s in set(epoch_sides) if s < layers[0].full_shape[0]}
               for name, (layers, epoch_sides) in sides.items()}
    for _ in range(rounds):
        for name, (model, source, _) in built.items():
            seconds[name].append(1.0 / steady_images_per_second(model, source, steps, batch=1))
            for side in sorted(at_side.get(name, ())):
                for layer in sides[name][0]:
                    layer.set_size(side)
                at_side[name][side].append(1.0 / steady_images_per_second(model, source, steps, batch=1))
                for layer in sides[name][0]:
                    layer.set_size(*layer.full_shape)
    out = {name: {"seconds_per_step": float(np.median(seconds[name])), "rounds": seconds[name],
                  "parameters": int(model.count_params()),
                  "train_flops_per_example": int(training_flops_per_example(model)), "batch_size": batch}
           for name, (model, _, batch) in built.items()}
    for name, times in at_side.items():
        out[name]["seconds_per_step_at_side"] = {str(s): float(np.median(t)) for s, t in times.items()}
        out[name]["epoch_sides"] = sides[name][1]
    return out


def measure_recipe(path, steps):
    """Training FLOPs per example and images/s through the pipeline, in memory, and compiled."""
    import tensorflow as tf

    from deeprob_keras.models.flops import training_flops_per_example
    from deeprob_keras.recipe import load_recipe, with_overrides
    from deeprob_keras.training.run import build_compiled_model, load_augmented_datasets

    recipe = load_recipe(path)
    batch = recipe.training.batch_size
    data = load_augmented_datasets(recipe, batch)
    strategy = tf.distribute.get_strategy()
    images, labels = next(iter(data.train_plain))
    memory = tf.data.Dataset.from_tensors((images, labels)).repeat()
    rates = {}
    for name, source, per_execution, precision in (
            ("pipeline", data.train.repeat(), 1, "float32"), ("in_memory", memory, 1, "float32"),
            ("compiled_loop", memory, 50, "float32"), ("pipeline_bfloat16", data.train.repeat(), 1, "mixed_bfloat16")):
        r = with_overrides(recipe, {"training.steps_per_execution": per_execution, "training.precision": precision})
        model, _ = build_compiled_model(r, data, strategy, batch)
        n = steps if per_execution == 1 else max(per_execution, (steps // per_execution) * per_execution)
        rates[name] = steady_images_per_second(model, source, n, batch, per_execution)
    flops = training_flops_per_example(model)
    return {"recipe": os.path.relpath(os.path.abspath(path), ROOT), "name": recipe.name, "batch": batch,
            "parameters": int(model.count_params()), "train_flops_per_example": int(flops),
            "images_per_second": rates,
            "gflops": {k: v * flops / 1e9 for k, v in rates.items()}}


def write_report(data, out):
    peak = data["peak_gflops"]["matmul_2048"]
    cpu = data.get("cpu", {"model": "?", "features": []})
    lines = ["# Training FLOP/s against the machine's float32 peak", "",
             f"CPU: {cpu['model']}, {os.cpu_count()} cores; features: {', '.join(cpu['features']) or 'unknown'}.", "",
             f"Peak through TensorFlow on this machine: matmul 2048² **{data['peak_gflops']['matmul_2048']:.0f} "
             f"GFLOP/s**, 3x3 convolution 32x56x56x128→128 **{data['peak_gflops']['conv3x3_56x56x128']:.0f} "
             "GFLOP/s** (best of repeated timings).", "",
             "FLOPs per training image: conv + dense multiply-adds from the layer shapes, x3 for forward + "
             "backward (`deeprob_keras/models/flops.py`, equal to TensorFlow's profiler per layer).", "",
             "| recipe | parameters | MFLOPs / train image | input | images/s | GFLOP/s | of matmul peak |",
             "|---|---:|---:|---|---:|---:|---:|"]
    labels = {"pipeline": "recipe's tf.data pipeline", "in_memory": "batches in memory",
              "compiled_loop": "in memory, 50 steps per call",
              "pipeline_bfloat16": "tf.data pipeline, `training.precision: mixed_bfloat16`"}
    for r in data["recipes"]:
        for key, label in labels.items():
            lines.append(f"| {r['name']} | {r['parameters']:,} | {r['train_flops_per_example'] / 1e6:.0f} | {label} | "
                         f"{r['images_per_second'][key]:.0f} | {r['gflops'][key]:.1f} | "
                         f"{r['gflops'][key] / peak:.0%} |")
    if data.get("steps"):
        lines += ["", f"images/s: the steady state of one `fit` call, {data['steps']} steps timed after at least 5 "
                  "warm-up steps (tracing, the iterator's start-up and its first prefetch are not counted; 50 for "
                  "the 50-steps-per-call rows); one measurement each, which moves by about 10% between repeats on "
                  "a VM whose speed drifts."]
    tr = data.get("translation_images_per_second")
    if tr:
        lines += ["", "Random translation by up to 2 pixels in the input pipeline (tf.data map over batches of "
                  "128 images of 28x28x1, images/s, higher is better): Keras's `RandomTranslation` "
                  f"(projective transform, inside our `PixelTranslation`) **{tr['keras_random_translation']:,.0f}**, "
                  f"a batched pad-and-gather version **{tr['pixel_translation']:,.0f}** "
                  f"({tr['pixel_translation'] / tr['keras_random_translation']:.1f}x): Keras's stays. Both are "
                  "far above any recipe's training rate, so translation does not bound training."]
    lb, la = data["load_before"], data["load_after"]
    lines += ["", f"Load average (1, 5, 15 min) before: {lb[0]:.1f} {lb[1]:.1f} {lb[2]:.1f}; after: "
              f"{la[0]:.1f} {la[1]:.1f} {la[2]:.1f}.", "", f"Command: `{data['command']}`", ""]
    with open(out, "w") as f:
        f.write("\n".join(lines))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=[os.path.join(ROOT, p) for p in DEFAULT_RECIPES])
    parser.add_argument("--steps", type=int, default=60, help="timed training steps per measurement")
    parser.add_argument("--peak-seconds", type=float, default=3.0)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks", "results", "flops_efficiency.md"))
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps must be >= 1. Received: {args.steps}")
    data = {"command": ".venv/bin/python benchmarks/flops_efficiency.py " + " ".join(
        argv if argv is not None else sys.argv[1:]), "load_before": list(os.getloadavg())}
    data["steps"] = args.steps
    data["cpu"] = cpu_features()
    data["peak_gflops"] = peak_gflops(args.peak_seconds)
    data["translation_images_per_second"] = translation_throughput()
    data["recipes"] = [measure_recipe(p, args.steps) for p in args.recipes]
    data["load_after"] = list(os.getloadavg())
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    results_io.write_json(results_io.json_beside(args.out), data)
    print(open(write_report(data, args.out)).read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
