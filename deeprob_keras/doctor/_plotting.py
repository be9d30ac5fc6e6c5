"""Matplotlib set-up shared by the doctor's PNGs (Agg backend, no display)."""

import os


def pyplot():
    """Returns `matplotlib.pyplot` on the Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save(fig, path):
    """Saves `fig` as PNG at `path` (directories created), closes it, returns `path`."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    pyplot().close(fig)
    return path
