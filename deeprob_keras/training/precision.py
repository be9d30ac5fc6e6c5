"""Mixed precision for one model build: `training.precision` of the recipe."""

import contextlib

import keras

from deeprob_keras.recipe.choices import PRECISIONS


@contextlib.contextmanager
def dtype_policy(name):
    """Builds the layers created inside with Keras's dtype policy `name`, then restores the previous one.

    `"mixed_bfloat16"`: variables stay float32, layers compute in bfloat16
    (no loss scaling needed: bfloat16 has float32's exponent range). The
    project's classifier always computes in float32.

    Args:
        name: `"float32"` or `"mixed_bfloat16"`.

    Example:
    >>> with dtype_policy("mixed_bfloat16"):
    ...     model = build_model(recipe, (28, 28, 1), 10)
    """
    if name not in POLICIES:
        hint = " (resolve 'auto' first: `resolve_precision`)" if name == "auto" else ""
        raise ValueError(f"Expected `name` in {POLICIES}{hint}. Received: name={name!r}")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


# The Keras dtype policies a recipe's precision resolves to ("auto" is one of them, chosen per machine).
POLICIES = tuple(p for p in PRECISIONS if p != "auto")
NATIVE_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(cpuinfo="/proc/cpuinfo"):
    """The first CPU's feature flags from `cpuinfo` (e.g. "avx2", "avx512_bf16"), or None when unreadable (not Linux)."""
    try:
        with open(cpuinfo) as f:
            return next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), None)
    except OSError:
        return None


def cpu_has_native_bfloat16(cpuinfo="/proc/cpuinfo"):
    """True when the CPU's flags name a bfloat16 instruction set (AVX512-BF16 or AMX-BF16), False when
    they do not, None when they cannot be read (not Linux)."""
    flags = cpu_flags(cpuinfo)
    if flags is None:
        return None
    return any(flag in flags for flag in NATIVE_BFLOAT16_FLAGS)


def precision_warning(name, has_gpu=False, cpuinfo="/proc/cpuinfo"):
    """A one-line warning when `name` will likely train slower than float32 here, else None.

    bfloat16 pays on a CPU only with native bfloat16 instructions: without them
    TensorFlow converts every tensor and computes in float32 (slower than
    float32 throughout). A GPU decides for itself, so no warning there.
    """
    if name != "mixed_bfloat16" or has_gpu or cpu_has_native_bfloat16(cpuinfo) is not False:
        return None
    return ("training.precision mixed_bfloat16: this CPU has no native bfloat16 instructions "
            f"({' or '.join(NATIVE_BFLOAT16_FLAGS)}), so it will likely train slower than with float32")


def resolve_precision(name, has_gpu=False, cpuinfo="/proc/cpuinfo"):
    """The dtype policy `training.precision: name` trains with on this machine.

    "auto" is "mixed_bfloat16" on a CPU whose flags name a bfloat16 instruction
    set (where bfloat16 made a step 1.33x faster: docs/MEASUREMENTS_NOTES.md)
    with no GPU visible, and "float32" otherwise (no such instructions, flags
    unreadable, or a GPU, whose own mixed precision is a choice to make
    explicitly). Other names are returned as they are.

    Example:

    >>> resolve_precision("auto", has_gpu=True), resolve_precision("mixed_bfloat16")
    ('float32', 'mixed_bfloat16')
    """
    if name not in PRECISIONS:
        raise ValueError(f"Expected `name` in {PRECISIONS}. Received: name={name!r}")
    if name != "auto":
        return name
    return "mixed_bfloat16" if not has_gpu and cpu_has_native_bfloat16(cpuinfo) else "float32"
