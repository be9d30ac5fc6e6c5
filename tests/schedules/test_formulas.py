"""Every schedule against the lecture's formula at many steps (t=0, t=T, boundaries, restarts)."""

import keras
import numpy as np
import tensorflow as tf
import pytest

from deeprob_keras.schedules import (ConstantSchedule, CosineDecay, CosineRestarts, InverseSqrtDecay,
                                     LinearDecay, LinearWarmup, StepDecay, cycle_end_steps)
from tests.schedules import reference as ref

RTOL = 2e-6   # float32 schedules vs float64 formulas
ATOL = 1e-7


def values(schedule, steps):
    """One call per step, as the optimizer makes them (scalar int64 step)."""
    return np.array([float(schedule(np.int64(t))) for t in steps])


def test_constant():
    steps = [0, 1, 7, 1000, 10**6]
    np.testing.assert_allclose(values(ConstantSchedule(0.3), steps), [0.3] * len(steps), rtol=RTOL)


@pytest.mark.parametrize("boundaries,gamma", [([30, 60, 90], 0.1), ([5], 0.5), ([1, 2, 3], 0.2), ([], 0.1)])
def test_step_decay(boundaries, gamma):
    schedule = StepDecay(0.1, boundaries, gamma)
    steps = sorted({0, 1, 100, *boundaries, *(b - 1 for b in boundaries), *(b + 1 for b in boundaries)})
    expected = ref.evaluate(lambda t: ref.step(t, 0.1, boundaries, gamma), steps)
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=RTOL)


def test_step_decay_exact_values_around_boundary():
    schedule = StepDecay(1.0, [10, 20], gamma=0.1)
    np.testing.assert_allclose(values(schedule, [9, 10, 19, 20, 21]), [1.0, 0.1, 0.1, 0.01, 0.01], rtol=RTOL)


def test_step_decay_is_not_keras_piecewise_constant():
    # Keras switches one step later (t > b); that is why StepDecay is our own.
    ours = StepDecay(1.0, [10], gamma=0.1)
    keras_schedule = keras.optimizers.schedules.PiecewiseConstantDecay([10], [1.0, 0.1])
    assert float(ours(10)) == pytest.approx(0.1)
    assert float(keras_schedule(10)) == pytest.approx(1.0)
    for t in [0, 9, 11, 50]:
        assert float(ours(t)) == pytest.approx(float(keras_schedule(t)))


@pytest.mark.parametrize("T,f", [(1000, 0.0), (97, 0.1), (10, 0.5)])
def test_cosine(T, f):
    schedule = CosineDecay(0.2, T, min_lr_fraction=f)
    steps = sorted({0, 1, T // 4, T // 2, T - 1, T, T + 1, 2 * T, *range(0, T, max(1, T // 37))})
    expected = ref.evaluate(lambda t: ref.cosine(t, 0.2, T, f), steps)
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=RTOL, atol=ATOL)
    assert float(schedule(0)) == pytest.approx(0.2)
    assert float(schedule(T)) == pytest.approx(0.2 * f, abs=ATOL)
    assert float(schedule(5 * T)) == pytest.approx(0.2 * f, abs=ATOL)  # stays at the floor


def test_cosine_is_keras_cosine_decay():
    ours = CosineDecay(0.2, 97, min_lr_fraction=0.1)
    assert isinstance(ours, keras.optimizers.schedules.CosineDecay)
    theirs = keras.optimizers.schedules.CosineDecay(0.2, 97, alpha=0.1)
    steps = np.arange(0, 200)
    np.testing.assert_array_equal(values(ours, steps), values(theirs, steps))


@pytest.mark.parametrize("T", [1, 10, 1001])
def test_linear(T):
    schedule = LinearDecay(0.5, T)
    steps = sorted({0, 1, T // 2, T - 1, T, T + 1, 3 * T + 5})
    expected = ref.evaluate(lambda t: ref.linear(t, 0.5, T), steps)
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=RTOL, atol=ATOL)
    assert float(schedule(T + 10)) == 0.0
    assert isinstance(schedule, keras.optimizers.schedules.PolynomialDecay)


def test_inverse_sqrt():
    steps = [0, 1, 2, 3, 8, 99, 9999, 10**6]
    expected = ref.evaluate(lambda t: ref.inverse_sqrt(t, 0.4), steps)
    np.testing.assert_allclose(values(InverseSqrtDecay(0.4), steps), expected, rtol=RTOL)
    assert float(InverseSqrtDecay(0.4)(0)) == pytest.approx(0.4)   # alpha_0 / sqrt(1)
    assert float(InverseSqrtDecay(0.4)(3)) == pytest.approx(0.2)   # alpha_0 / sqrt(4)


@pytest.mark.parametrize("T0,mult,f", [(10, 1.0, 0.0), (10, 2.0, 0.0), (7, 3.0, 0.05), (5, 1.5, 0.0), (100, 2.0, 0.1)])
def test_cosine_restarts_every_step(T0, mult, f):
    total = 3000
    schedule = CosineRestarts(0.1, T0, cycle_mult=mult, min_lr_fraction=f)
    steps = np.arange(total + 1)
    got = np.asarray(schedule(steps))   # vectorized call: every step of the run
    expected = ref.evaluate(lambda t: ref.restarts(t, 0.1, T0, mult, f), steps)
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    # Scalar int64 calls (the optimizer's) agree at every restart and just before it.
    ends = cycle_end_steps(T0, mult, total)
    around = sorted({0, *ends, *(e - 1 for e in ends)})
    np.testing.assert_allclose(values(schedule, around), expected[around], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("T0,mult", [(10, 1.0), (10, 2.0), (7, 3.0), (4, 1.5)])
def test_cosine_restarts_restart_at_every_cycle_end(T0, mult):
    schedule = CosineRestarts(0.1, T0, cycle_mult=mult, min_lr_fraction=0.01)
    ends = cycle_end_steps(T0, mult, 2000)
    assert len(ends) >= 4
    lr = np.asarray(schedule(np.arange(ends[-1] + 1)), dtype=np.float64)
    drops = [t for t in range(1, len(lr)) if lr[t] > lr[t - 1]]
    assert drops == ends   # the rate jumps back up exactly at the cycle ends, nowhere else
    for e in ends:
        if float(e) == ref_start(T0, mult, e):   # integer cycle boundary: a full restart
            assert lr[e] == pytest.approx(0.1, rel=1e-6)


def ref_start(T0, mult, e):
    start, length = 0.0, float(T0)
    while start < e - 1e-9:
        start += length
        length *= mult
    return start


def test_cosine_restarts_equal_cycles_stay_exact_in_long_runs():
    # 30,000 cycles of 3 steps: the position in the cycle must not drift.
    schedule = CosineRestarts(1.0, 3, cycle_mult=1.0)
    steps = [89_997, 89_998, 89_999, 90_000, 1_000_000, 1_000_001]
    expected = ref.evaluate(lambda t: ref.cosine(t % 3, 1.0, 3), steps)
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=1e-6, atol=1e-7)


def test_cycle_end_steps_values():
    assert cycle_end_steps(10, 1.0, 35) == [10, 20, 30]
    assert cycle_end_steps(10, 2.0, 70) == [10, 30, 70]       # a cycle ending at T is complete
    assert cycle_end_steps(10, 2.0, 69) == [10, 30]
    assert cycle_end_steps(4, 1.5, 30) == [4, 10, 19]         # 4 + 6 + 9 (next: 32.5 > 30)
    assert cycle_end_steps(5, 1.5, 30) == [5, 13, 24]         # ends at 5, 12.5, 23.75
    assert cycle_end_steps(10, 1.0, 9) == []
    assert cycle_end_steps(10, 1.1, 50) == [10, 21, 34, 47]   # 10, 21, 33.1, 46.41 -> ceil


def test_cosine_restarts_is_keras_cosine_decay_restarts():
    ours = CosineRestarts(0.1, 7, cycle_mult=3.0, min_lr_fraction=0.05)
    assert isinstance(ours, keras.optimizers.schedules.CosineDecayRestarts)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(0.1, 7, t_mul=3.0, m_mul=1.0, alpha=0.05)
    steps = np.arange(0, 400)   # the same formula where float32 finds Keras's cycle right
    np.testing.assert_allclose(np.asarray(ours(steps)), np.asarray(theirs(steps)), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("T0,mult,step,expected", [
    (10, 2.0, 81_910, 0.1),      # a restart listed by cycle_end_steps; Keras's float32 cycle gave 0.0
    (5005, 1.5, 374_808, 0.0),   # the last step of a cycle; Keras gave 0.1
])
def test_cosine_restarts_growing_cycles_exact_far_out(T0, mult, step, expected):
    schedule = CosineRestarts(0.1, first_cycle_steps=T0, cycle_mult=mult)
    got = values(schedule, [step])[0]
    assert got == pytest.approx(ref.restarts(step, 0.1, T0, mult), abs=1e-6)
    assert got == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("T0,mult,total", [(10, 2.0, 10**7), (5005, 1.5, 10**7), (7, 3.0, 10**9),
                                            (10, 1.1, 10**6), (3, 1.01, 10**5)])
def test_cosine_restarts_restart_at_every_listed_cycle_end(T0, mult, total):
    schedule = CosineRestarts(0.1, T0, cycle_mult=mult)
    ends = cycle_end_steps(T0, mult, total)
    at_end = values(schedule, ends)
    before_end = values(schedule, [e - 1 for e in ends])
    for e, lr_end, lr_before in zip(ends, at_end, before_end):
        assert lr_end == pytest.approx(ref.restarts(e, 0.1, T0, mult), abs=1e-6), e
        assert lr_before == pytest.approx(ref.restarts(e - 1, 0.1, T0, mult), abs=1e-6), e
        assert lr_before < lr_end, e   # the rate jumps back up at the listed end
    # The graph (optimizer) path gives the same numbers as the eager one.
    graph = tf.function(lambda t: schedule(t))
    np.testing.assert_allclose([float(graph(tf.constant(e, tf.int64))) for e in ends], at_end, rtol=0, atol=0)


@pytest.mark.parametrize("make_inner,inner_ref", [
    (lambda: CosineDecay(0.1, 900), lambda t: ref.cosine(t, 0.1, 900)),
    (lambda: InverseSqrtDecay(0.1), lambda t: ref.inverse_sqrt(t, 0.1)),
    (lambda: StepDecay(0.1, [200, 500], 0.1), lambda t: ref.step(t, 0.1, [200, 500], 0.1)),
    (lambda: ConstantSchedule(0.1), lambda t: 0.1),
    (lambda: CosineRestarts(0.1, 90, 2.0), lambda t: ref.restarts(t, 0.1, 90, 2.0)),
])
def test_linear_warmup(make_inner, inner_ref):
    W = 100
    schedule = LinearWarmup(make_inner(), W)
    steps = sorted({0, 1, W // 2, W - 1, W, W + 1, 300, 550, 999, 1000, 1500})
    expected = ref.evaluate(lambda t: ref.warmup(t, inner_ref, W), steps)
    np.testing.assert_allclose(values(schedule, steps), expected, rtol=RTOL, atol=ATOL)
    assert float(schedule(0)) == 0.0
    assert float(schedule(W)) == pytest.approx(inner_ref(0))   # the wrapped schedule's first value
    assert float(schedule(W - 1)) == pytest.approx(inner_ref(0) * (W - 1) / W)
