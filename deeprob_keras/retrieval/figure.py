"""The lecture's retrieval figure: each query image, then its K nearest neighbours, framed green
when a neighbour has the query's class and red when it has not."""

import numpy as np

CORRECT, WRONG, QUERY = "#2ca02c", "#d62728", "#444444"


def _show(ax, image, colour, title=None):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255 if image.dtype == np.uint8 else 1)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_color(colour)
        spine.set_linewidth(3)
    if title:
        ax.set_title(title, fontsize=7)


def plot_retrievals(path, query_images, neighbour_images, hits, title=None, query_titles=None):
    """Writes the figure to `path` (PNG); returns `path`.

    Args:
        path: output file.
        query_images: (Q, H, W[, C]) uint8 or [0, 1] floats.
        neighbour_images: (Q, K, H, W[, C]).
        hits: bool (Q, K), True where the neighbour has the query's class (green), else red.
        title: figure title.
        query_titles: Q short strings over the query column (e.g. class names).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    hits = np.asarray(hits, bool)
    q, k = hits.shape
    fig, axes = plt.subplots(q, k + 1, figsize=(1.0 * (k + 1) + 0.4, 1.05 * q + 0.5), squeeze=False)
    for i in range(q):
        _show(axes[i, 0], query_images[i], QUERY, query_titles[i] if query_titles is not None else None)
        for j in range(k):
            _show(axes[i, j + 1], neighbour_images[i][j], CORRECT if hits[i, j] else WRONG)
    axes[0, 0].set_title((query_titles[0] + "\n" if query_titles is not None else "") + "query", fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
