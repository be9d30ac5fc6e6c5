"""BatchedRandAugment: per-image uniform op choice, each op against a numpy reference,
both dispatches equal, shapes / dtypes / ranges, graph mode and tf.data."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from deeprob_keras.augment import BatchedRandAugment, build_augmentation, make_rand_augment
from deeprob_keras.augment import batched_rand_augment as bra
from deeprob_keras.recipe.schema import AugmentationSpec
from tests.layer_testing import assert_invalid_argument, run_layer_test

CHI2_13_DOF_P001 = 34.53  # 99.9% quantile of chi-square with 13 degrees of freedom


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def _apply(x, op, magnitude, sign=1.0, dispatch="partition"):
    b = x.shape[0]
    return np.asarray(bra.apply_ops(tf.constant(x), tf.fill((b,), bra.OPS.index(op)),
                                    tf.fill((b,), float(magnitude)), tf.fill((b,), float(sign)), dispatch))


def _chi_square(counts):
    expected = counts.sum() / len(counts)
    return float(((counts - expected) ** 2 / expected).sum())


# --- per-image op choice -------------------------------------------------------------------------

def test_op_choice_is_uniform_per_image_and_the_check_can_fail():
    op_index, _, sign = bra.sample_parameters(14000, 2, 0.5, 0.15, keras.random.SeedGenerator(0))
    op_index = np.asarray(op_index)
    for layer_ops in op_index:  # each of the N draws, over 14,000 images
        assert _chi_square(np.bincount(layer_ops, minlength=len(bra.OPS))) < CHI2_13_DOF_P001
    assert 0.48 < np.mean(np.asarray(sign) > 0) < 0.52
    # One batch of 128 images uses many different ops (per image, not per batch).
    assert len(np.unique(op_index[0, :128])) >= 12
    # The statistic does reject a sampler that favours one op by 25%.
    biased = np.bincount(op_index[0], minlength=len(bra.OPS)).astype(float)
    biased[3] *= 1.25
    assert _chi_square(biased) > CHI2_13_DOF_P001


def test_layer_output_is_apply_ops_of_the_sampled_parameters():
    x = _images((64, 12, 12, 3))
    layer = BatchedRandAugment(2, 0.7, seed=5)
    out = np.asarray(layer(x, training=True))
    op_index, m, sign = bra.sample_parameters(64, 2, 0.7, 0.15, keras.random.SeedGenerator(5))
    ref = tf.constant(x)
    for k in range(2):
        ref = bra.apply_ops(ref, op_index[k], m[k], sign[k], "dense")
    np.testing.assert_allclose(out, np.asarray(ref), atol=1e-6)


def test_identical_images_get_different_augmentations():
    x = np.repeat(_images((1, 16, 16, 1)), 64, axis=0)
    out = np.asarray(BatchedRandAugment(1, 0.5, seed=1)(x, training=True))
    distinct = {out[i].round(4).tobytes() for i in range(64)}
    assert len(distinct) >= 20


# --- each op against an independent numpy reference -------------------------------------------

def _np_equalize_channel(v):
    """PIL ImageOps.equalize on one channel of 8-bit levels."""
    hist = np.bincount(v.ravel(), minlength=256)
    nonzero = hist[hist > 0]
    step = (hist.sum() - nonzero[-1]) // 255
    if step == 0:
        return None
    lut, n = [], step // 2
    for count in hist:
        lut.append(min(n // step, 255))
        n += count
    return np.array(lut)[v]


def _np_bilinear_warp(img, inverse):
    """out[y, x] = bilinear sample of img at inverse(x, y) -> (x', y'), zero outside."""
    h, w, _ = img.shape
    out = np.zeros_like(img)
    for y in range(h):
        for x in range(w):
            sx, sy = inverse(x, y)
            x0, y0 = int(np.floor(sx)), int(np.floor(sy))
            for yy, xx, wt in ((y0, x0, (1 - (sy - y0)) * (1 - (sx - x0))), (y0, x0 + 1, (1 - (sy - y0)) * (sx - x0)),
                               (y0 + 1, x0, (sy - y0) * (1 - (sx - x0))), (y0 + 1, x0 + 1, (sy - y0) * (sx - x0))):
                if 0 <= yy < h and 0 <= xx < w:
                    out[y, x] += wt * img[yy, xx]
    return out


GRAY = np.array([0.299, 0.587, 0.114], "float32")


@pytest.mark.parametrize("channels", [1, 3])
def test_pixel_ops_match_numpy(channels):
    x = _images((6, 9, 9, channels), seed=2)
    m = 0.6
    f = 1 + 0.9 * m
    gray = x if channels == 1 else (x * GRAY).sum(-1, keepdims=True)
    refs = {
        "identity": x,
        "solarize": np.where(x >= 1 - m, 1 - x, x),
        "posterize": (np.round(x * 255).astype(int) & ~(2 ** round(4 * m) - 1)) / 255.0,  # keep 8 - 2 bits
        "brightness": np.clip(x * f, 0, 1),
        "contrast": np.clip(gray.mean(axis=(1, 2, 3), keepdims=True) * (1 - f) + f * x, 0, 1),
        "color": x if channels == 1 else np.clip(gray * (1 - f) + f * x, 0, 1),
        "auto_contrast": (x - x.min(axis=(1, 2), keepdims=True))
        / (x.max(axis=(1, 2), keepdims=True) - x.min(axis=(1, 2), keepdims=True)),
    }
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    smooth = sum(padded[:, i:i + 9, j:j + 9] * (5.0 if (i, j) == (1, 1) else 1.0)
                 for i in range(3) for j in range(3)) / 13.0
    smooth[:, [0, -1]], smooth[:, :, [0, -1]] = x[:, [0, -1]], x[:, :, [0, -1]]
    refs["sharpness"] = np.clip(smooth * (1 - f) + f * x, 0, 1)
    for op, ref in refs.items():
        for dispatch in bra.DISPATCHES:
            np.testing.assert_allclose(_apply(x, op, m, 1.0, dispatch), ref, atol=2e-6, err_msg=f"{op} {dispatch}")
    # Negative sign weakens: brightness factor 1 - 0.9 m.
    np.testing.assert_allclose(_apply(x, "brightness", m, -1.0), x * (1 - 0.9 * m), atol=2e-6)


def test_equalize_matches_pil_algorithm():
    rng = np.random.default_rng(3)
    levels = np.stack([rng.integers(40, 120, size=(24, 24, 3)), rng.integers(0, 256, size=(24, 24, 3))])
    levels[1, :, :, 2] = 7  # a constant channel is left as it is
    x = (levels / 255.0).astype("float32")
    out = _apply(x, "equalize", 0.5)
    for i in range(2):
        for c in range(3):
            ref = _np_equalize_channel(levels[i, :, :, c])
            expected = x[i, :, :, c] if ref is None else ref / 255.0
            np.testing.assert_allclose(out[i, :, :, c], expected, atol=1e-6)
    assert len(np.unique(out[0, :, :, 0])) > 1 and out[0, :, :, 0].max() > 0.95  # stretched


@pytest.mark.parametrize("op, sign", [("translate_x", 1.0), ("translate_x", -1.0), ("translate_y", 1.0)])
def test_translate_is_a_whole_pixel_zero_filled_shift(op, sign):
    x = _images((3, 20, 20, 1), seed=4) + 0.1
    out = _apply(np.clip(x, 0, 1), op, 0.5, sign)
    shift = int(round(0.5 * 0.45 * 20)) * int(sign)  # 4 pixels
    ref = np.zeros_like(x)
    src = np.clip(x, 0, 1)
    if op == "translate_x":
        ref[:, :, max(shift, 0):20 + min(shift, 0)] = src[:, :, max(-shift, 0):20 - max(shift, 0)]
    else:
        ref[:, max(shift, 0):20 + min(shift, 0)] = src[:, max(-shift, 0):20 - max(shift, 0)]
    np.testing.assert_allclose(out, ref, atol=1e-6)


@pytest.mark.parametrize("op", ["rotate", "shear_x", "shear_y"])
def test_rotate_and_shear_match_a_numpy_bilinear_warp(op):
    x = _images((2, 11, 13, 2), seed=5)
    m, c_y, c_x = 0.5, 5.0, 6.0
    theta, shear = np.deg2rad(30 * m), 0.3 * m
    inverse = {
        "rotate": lambda px, py: (np.cos(theta) * (px - c_x) - np.sin(theta) * (py - c_y) + c_x,
                                  np.sin(theta) * (px - c_x) + np.cos(theta) * (py - c_y) + c_y),
        "shear_x": lambda px, py: (px + shear * (py - c_y), py),
        "shear_y": lambda px, py: (px, py + shear * (px - c_x)),
    }[op]
    out = _apply(x, op, m)
    for i in range(2):
        np.testing.assert_allclose(out[i], _np_bilinear_warp(x[i], inverse), atol=1e-5)


# --- shapes, dtypes, ranges, graph mode, tf.data ----------------------------------------------

@pytest.mark.parametrize("shape, dispatch", [((4, 28, 28, 1), "partition"), ((4, 32, 32, 3), "partition"),
                                             ((4, 16, 16, 3), "dense")])
def test_layer_contract(shape, dispatch):
    run_layer_test(BatchedRandAugment, {"num_ops": 2, "magnitude": 0.5, "dispatch": dispatch, "seed": 0},
                   input_shape=shape, identity_at_inference=True, check_training_differs=True)


@pytest.mark.parametrize("dtype, value_range", [("float32", (0, 1)),
                                                ("float32", (-1, 1)), ("uint8", (0, 255))])
def test_dtype_and_value_range_are_kept(dtype, value_range):
    low, high = value_range
    x = (low + _images((32, 14, 14, 3), seed=6) * (high - low)).astype(dtype)
    out = BatchedRandAugment(3, 0.9, value_range=value_range, seed=0)(x, training=True)
    assert out.dtype == dtype and tuple(out.shape) == x.shape
    out = np.asarray(out, "float32")
    assert np.isfinite(out).all() and out.min() >= low and out.max() <= high
    assert np.mean(np.any(out != x, axis=(1, 2, 3))) > 0.5


def test_graph_mode_equals_eager_for_the_same_seed():
    x = tf.constant(_images((16, 10, 10, 3)))
    eager = BatchedRandAugment(2, 0.5, seed=9)
    graph_layer = BatchedRandAugment(2, 0.5, seed=9)
    graph = tf.function(lambda a: graph_layer(a, training=True))
    for _ in range(2):  # the seed generator advances the same way in both
        np.testing.assert_allclose(np.asarray(graph(x)), np.asarray(eager(x, training=True)), atol=1e-6)


@pytest.mark.parametrize("shape", [(28, 28, 1), (32, 32, 3)])
def test_parallel_tf_data_map_on_batches_including_a_tiny_last_batch(shape):
    x = _images((35,) + shape)
    layer = make_rand_augment(2, 0.6, seed=0)
    assert isinstance(layer, BatchedRandAugment)
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(35))).batch(16)  # 16, 16, 3: ops missing in a batch
    ds = ds.map(lambda a, b: (layer(a, training=True), b), num_parallel_calls=tf.data.AUTOTUNE)
    batches = [a for a, _ in ds.as_numpy_iterator()]
    assert [len(b) for b in batches] == [16, 16, 3]
    out = np.concatenate(batches)
    assert out.shape == x.shape and np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert np.mean(np.any(np.abs(out - x) > 1e-4, axis=(1, 2, 3))) > 0.5


def test_recipe_switch_builds_the_batched_layer():
    image_fn, _ = build_augmentation(AugmentationSpec(randaugment_ops=2, randaugment_magnitude=0.5), 10, seed=0)
    assert any(isinstance(layer, BatchedRandAugment) for layer in image_fn.layers)
    assert make_rand_augment(2, 0.5, implementation="keras_cv").implementation == "keras_cv"


def test_bad_arguments():
    assert_invalid_argument(BatchedRandAugment, {"num_ops": 0}, "num_ops")
    assert_invalid_argument(BatchedRandAugment, {"num_ops": 15}, "num_ops")
    assert_invalid_argument(BatchedRandAugment, {"magnitude": 1.5}, "magnitude")
    assert_invalid_argument(BatchedRandAugment, {"magnitude_stddev": -0.1}, "magnitude_stddev")
    assert_invalid_argument(BatchedRandAugment, {"value_range": (1, 0)}, "value_range")
    assert_invalid_argument(BatchedRandAugment, {"dispatch": "loop"}, "dispatch")
