"""The lecture's learning-rate formulas in plain NumPy/math (float64), for the tests.

Written from the equations, never from deeprob_keras's code.
"""

import math

import numpy as np


def step(t, a0, boundaries, gamma):
    # "multiply LR by gamma after each boundary": the update with index b already uses it.
    return a0 * gamma ** sum(1 for b in boundaries if t >= b)


def cosine(t, a0, T, f=0.0):
    a_min = f * a0
    t = min(t, T)
    return a_min + 0.5 * (a0 - a_min) * (1.0 + math.cos(t * math.pi / T))


def linear(t, a0, T):
    return a0 * max(0.0, 1.0 - t / T)


def inverse_sqrt(t, a0):
    return a0 / math.sqrt(t + 1)  # the lecture's t counts from 1


def restarts(t, a0, T0, mult, f=0.0):
    """SGDR: walk the cycles one by one (integer-exact when the lengths are)."""
    start, length = 0.0, float(T0)
    while t >= start + length - 1e-9:
        start += length
        length *= mult
    a_min = f * a0
    return a_min + 0.5 * (a0 - a_min) * (1.0 + math.cos(math.pi * (t - start) / length))


def warmup(t, inner, W):
    return inner(0) * t / W if t < W else inner(t - W)


def evaluate(fn, steps):
    return np.array([fn(int(t)) for t in steps], dtype=np.float64)
