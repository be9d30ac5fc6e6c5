"""build_schedule / schedule_snapshot_steps from a recipe's ScheduleSpec; scaling; plotting."""

import numpy as np
import pytest

from deeprob_keras.recipe.schema import ScheduleSpec
from deeprob_keras.schedules import (CosineDecay, CosineRestarts, LinearWarmup, StepDecay, build_schedule,
                                     global_batch_size, linear_scaling_rule, plot_schedule,
                                     schedule_snapshot_steps)
from tests.distribute import run_in_two_replicas
from tests.schedules import reference as ref


def lrs(schedule, steps):
    return np.array([float(schedule(int(t))) for t in steps])


def test_cosine_with_warmup_and_floor():
    spec = ScheduleSpec(name="cosine", warmup_epochs=2, min_lr_fraction=0.1)
    schedule = build_schedule(spec, 0.1, steps_per_epoch=50, epochs=10)
    W, T = 100, 400   # T = total steps - warmup steps
    steps = [0, 1, 50, 99, 100, 101, 300, 499, 500]
    expected = [ref.warmup(t, lambda s: ref.cosine(s, 0.1, T, 0.1), W) for t in steps]
    np.testing.assert_allclose(lrs(schedule, steps), expected, rtol=2e-6, atol=1e-8)
    assert float(schedule(500)) == pytest.approx(0.01)   # ends at the floor on the last step


def test_no_warmup_returns_the_bare_schedule():
    schedule = build_schedule(ScheduleSpec(name="cosine"), 0.1, steps_per_epoch=10, epochs=3)
    assert isinstance(schedule, CosineDecay) and schedule.decay_steps == 30


@pytest.mark.parametrize("name,formula", [
    ("linear", lambda t: ref.linear(t, 0.1, 90)),
    ("inverse_sqrt", lambda t: ref.inverse_sqrt(t, 0.1)),
    ("constant", lambda t: 0.1),
])
def test_other_names(name, formula):
    schedule = build_schedule(ScheduleSpec(name=name, warmup_epochs=1), 0.1, steps_per_epoch=10, epochs=10)
    steps = [0, 5, 10, 11, 50, 99, 100]
    expected = [ref.warmup(t, formula, 10) for t in steps]
    np.testing.assert_allclose(lrs(schedule, steps), expected, rtol=2e-6, atol=1e-8)


def test_step_boundaries_are_absolute_epochs():
    # Goyal et al.: 5 warmup epochs, decay by 10 after epochs 30, 60, 80 of the run.
    spec = ScheduleSpec(name="step", warmup_epochs=5, boundaries_epochs=[30, 60, 80], gamma=0.1)
    schedule = build_schedule(spec, 0.1, steps_per_epoch=10, epochs=90)
    assert isinstance(schedule, LinearWarmup) and isinstance(schedule.schedule, StepDecay)
    absolute = lambda t: ref.warmup(t, lambda s: ref.step(s + 50, 0.1, [300, 600, 800], 0.1), 50)
    steps = [0, 25, 49, 50, 299, 300, 599, 600, 799, 800, 899]
    np.testing.assert_allclose(lrs(schedule, steps), [absolute(t) for t in steps], rtol=2e-6)
    assert float(schedule(299)) == pytest.approx(0.1) and float(schedule(300)) == pytest.approx(0.01)


def test_fractional_epochs_round_to_whole_steps():
    spec = ScheduleSpec(name="cosine_restarts", warmup_epochs=0.25, cycle_epochs=1.5)
    schedule = build_schedule(spec, 0.1, steps_per_epoch=10, epochs=8)
    assert schedule.warmup_steps == 3                 # 2.5 -> 3 (half up)
    assert schedule.schedule.first_cycle_steps == 15


def test_learning_rate_used_as_given():
    # The linear scaling rule belongs to the run plan (RunPlan.learning_rate), not to build_schedule.
    schedule = build_schedule(ScheduleSpec(name="constant"), 0.4, steps_per_epoch=10, epochs=2)
    assert float(schedule(7)) == pytest.approx(0.4)
    with pytest.raises(TypeError, match="base_batch_size"):
        build_schedule(ScheduleSpec(name="constant"), 0.1, 10, 2, base_batch_size=256)


def test_restarts_and_snapshot_steps():
    spec = ScheduleSpec(name="cosine_restarts", warmup_epochs=1, cycle_epochs=2, cycle_mult=2.0, min_lr_fraction=0.0)
    schedule = build_schedule(spec, 0.1, steps_per_epoch=10, epochs=15)
    assert isinstance(schedule.schedule, CosineRestarts)
    snapshots = schedule_snapshot_steps(spec, steps_per_epoch=10, epochs=15)
    assert snapshots == [30, 70, 150]                 # 10 warmup + 20, +40, +80 (= the last step)
    lr = lrs(schedule, range(151))
    expected = [ref.warmup(t, lambda s: ref.restarts(s, 0.1, 20, 2.0), 10) for t in range(151)]
    np.testing.assert_allclose(lr, expected, rtol=1e-5, atol=1e-7)
    for s in snapshots[:-1]:
        assert lr[s] == pytest.approx(0.1) and lr[s - 1] < 0.002   # lowest rate, then restart


def test_snapshot_steps_need_cosine_restarts():
    with pytest.raises(ValueError, match="name='cosine'"):
        schedule_snapshot_steps(ScheduleSpec(name="cosine"), 10, 5)


@pytest.mark.parametrize("spec,kwargs,match", [
    (ScheduleSpec(warmup_epochs=5), {}, "warmup_epochs=5"),
    (ScheduleSpec(warmup_epochs=6), {}, "warmup_epochs=6"),
    (ScheduleSpec(name="step", gamma=0.0, boundaries_epochs=[2]), {}, "gamma=0.0"),
    (ScheduleSpec(name="step", gamma=-1.0, boundaries_epochs=[2]), {}, "gamma=-1.0"),
    (ScheduleSpec(name="step", boundaries_epochs=[3, 2]), {}, "boundaries_epochs"),
    (ScheduleSpec(name="step", boundaries_epochs=[2.0, 2.01]), {}, "boundaries_epochs"),   # same step after rounding
    (ScheduleSpec(name="step", warmup_epochs=2, boundaries_epochs=[1, 3]), {}, "boundaries_epochs"),
    (ScheduleSpec(name="cosine_restarts", cycle_epochs=0.0), {}, "cycle_epochs=0.0"),
    (ScheduleSpec(name="cosine_restarts", cycle_epochs=0.01), {}, "cycle_epochs=0.01"),
    (ScheduleSpec(name="cosine_restarts", cycle_mult=0.5), {}, "cycle_mult=0.5"),
    (ScheduleSpec(), {"learning_rate": 0.0}, "learning_rate=0.0"),
    (ScheduleSpec(), {"learning_rate": -0.1}, "learning_rate=-0.1"),
    (ScheduleSpec(), {"steps_per_epoch": 0}, "steps_per_epoch=0"),
    (ScheduleSpec(), {"epochs": 0}, "epochs=0"),
    (ScheduleSpec(name="cosin"), {}, r"^schedule.name: .*Received: 'cosin'. Did you mean 'cosine'\?$"),
])
def test_bad_specs(spec, kwargs, match):
    args = {"learning_rate": 0.1, "steps_per_epoch": 10, "epochs": 5, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_schedule(spec, **args)


def test_linear_scaling_rule():
    assert linear_scaling_rule(0.1, 1024, 256) == pytest.approx(0.4)
    assert linear_scaling_rule(0.1, 128, 256) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="base_batch_size=0"):
        linear_scaling_rule(0.1, 128, 0)
    with pytest.raises(ValueError, match="base_lr=-1"):
        linear_scaling_rule(-1, 128, 256)


class FakeStrategy:
    num_replicas_in_sync = 8


def test_global_batch_size():
    assert global_batch_size(128) == 128            # default strategy: one replica
    assert global_batch_size(32, FakeStrategy()) == 256
    with pytest.raises(ValueError, match="per_replica_batch=0"):
        global_batch_size(0)


def _global_batch_in_scope(strategy):
    with strategy.scope():
        return [global_batch_size(64), global_batch_size(64, strategy)]


def test_global_batch_size_under_mirrored_strategy():
    assert run_in_two_replicas("tests.schedules.test_build:_global_batch_in_scope") == [128, 128]


def test_plot_schedule_writes_png(tmp_path):
    schedule = build_schedule(ScheduleSpec(name="cosine_restarts", warmup_epochs=1), 0.1, 20, 12)
    path = plot_schedule(schedule, 240, str(tmp_path / "plots" / "lr.png"), steps_per_epoch=20, title="SGDR")
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 2000


def test_plot_schedule_scalar_only_callable_and_long_runs(tmp_path):
    calls = []

    def scalar_only(step):
        assert isinstance(step, int)
        calls.append(step)
        return 0.1 / (1 + step)

    path = plot_schedule(scalar_only, 10_000, str(tmp_path / "lr.png"))
    assert len(calls) <= 4000 and calls[0] == 0 and calls[-1] == 9999
    assert (tmp_path / "lr.png").stat().st_size > 0
