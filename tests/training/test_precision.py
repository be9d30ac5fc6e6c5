"""training.precision: bfloat16 compute with float32 weights, a float32 classifier, the global policy restored."""

import keras
import numpy as np
import pytest

from deeprob_keras.recipe import recipe_from_dict
from deeprob_keras.models import build_model
from deeprob_keras.training.precision import dtype_policy


def _model(precision):
    recipe = recipe_from_dict({"model": {"widths": [4, 8]}, "training": {"precision": precision}})
    with dtype_policy(recipe.training.precision):
        return build_model(recipe, (12, 12, 1), 3)


def test_mixed_bfloat16_computes_in_bfloat16_keeps_float32_weights_and_output():
    before = keras.config.dtype_policy().name
    model = _model("mixed_bfloat16")
    assert keras.config.dtype_policy().name == before  # restored
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and all(layer.compute_dtype == "bfloat16" for layer in convs)
    assert all(w.dtype == "float32" for w in model.weights)
    out = model(np.random.default_rng(0).uniform(size=(2, 12, 12, 1)).astype("float32"))
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    np.testing.assert_allclose(np.asarray(out).sum(axis=1), 1.0, rtol=1e-5)


def test_float32_is_unchanged():
    model = _model("float32")
    assert all(layer.compute_dtype == "float32" for layer in model.layers if hasattr(layer, "compute_dtype"))


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="name"):
        with dtype_policy("float16"):
            pass
    with pytest.raises(Exception, match="precision"):
        recipe_from_dict({"training": {"precision": "float16"}})


def _cpuinfo(tmp_path, flags):
    path = tmp_path / "cpuinfo"
    path.write_text(f"processor\t: 0\nmodel name\t: test cpu\nflags\t\t: fpu sse2 {flags}\n\n")
    return str(path)


def test_bfloat16_warning_only_on_a_cpu_without_bfloat16_instructions(tmp_path):
    from deeprob_keras.training.precision import cpu_has_native_bfloat16, precision_warning

    avx2 = _cpuinfo(tmp_path, "avx2 fma")
    assert cpu_has_native_bfloat16(avx2) is False
    message = precision_warning("mixed_bfloat16", cpuinfo=avx2)
    assert message and "slower than with float32" in message and "\n" not in message
    (tmp_path / "bf16").mkdir()
    bf16 = _cpuinfo(tmp_path / "bf16", "avx2 avx512f avx512_bf16")
    assert cpu_has_native_bfloat16(bf16) is True and precision_warning("mixed_bfloat16", cpuinfo=bf16) is None
    assert precision_warning("float32", cpuinfo=avx2) is None
    assert precision_warning("mixed_bfloat16", has_gpu=True, cpuinfo=avx2) is None
    missing = str(tmp_path / "absent")
    assert cpu_has_native_bfloat16(missing) is None and precision_warning("mixed_bfloat16", cpuinfo=missing) is None


def test_auto_is_bfloat16_only_on_a_cpu_with_bfloat16_instructions_and_no_gpu(tmp_path):
    from deeprob_keras.training.precision import resolve_precision

    avx2 = _cpuinfo(tmp_path, "avx2 fma")
    (tmp_path / "bf16").mkdir()
    bf16 = _cpuinfo(tmp_path / "bf16", "avx2 avx512f avx512_bf16")
    assert resolve_precision("auto", cpuinfo=bf16) == "mixed_bfloat16"
    assert resolve_precision("auto", cpuinfo=avx2) == "float32"
    assert resolve_precision("auto", has_gpu=True, cpuinfo=bf16) == "float32"
    assert resolve_precision("auto", cpuinfo=str(tmp_path / "absent")) == "float32"
    assert resolve_precision("mixed_bfloat16", cpuinfo=avx2) == "mixed_bfloat16"   # explicit choices are kept
    assert resolve_precision("float32", cpuinfo=bf16) == "float32"
    with pytest.raises(ValueError, match="Received: name='float16'"):
        resolve_precision("float16")
    with pytest.raises(ValueError, match="resolve 'auto' first"):
        with dtype_policy("auto"):
            pass


def test_an_auto_recipe_builds_with_the_policy_this_machine_resolves_to():
    import tensorflow as tf

    from deeprob_keras.training import build_compiled_model
    from deeprob_keras.training.precision import resolve_precision

    class Data:
        image_shape, num_classes, num_examples = (12, 12, 1), 3, {"train": 64}

    recipe = recipe_from_dict({"model": {"widths": [4, 8]}, "training": {"precision": "auto", "batch_size": 32},
                               "schedule": {"warmup_epochs": 0}})
    model, _ = build_compiled_model(recipe, Data(), tf.distribute.get_strategy())
    expected = "bfloat16" if resolve_precision("auto") == "mixed_bfloat16" else "float32"
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs and {layer.compute_dtype for layer in convs} == {expected}
