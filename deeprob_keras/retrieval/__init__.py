"""Image retrieval with CNN features: nearest neighbours in feature space retrieve by meaning,
in pixel space by appearance (the lecture's comparison).

One technique per module: `embeddings` (L2-normalized features of a layer),
`exact_knn` (matmul + top_k in chunks), `approximate` (faiss HNSW, optional),
`precision` (precision@K), `figure` (queries and their neighbours); the
`deeprob retrieve` command is in `deeprob_keras.retrieval.cli`.
"""

from deeprob_keras.retrieval.approximate import FaissHNSWIndex, faiss_available, recall_at_k
from deeprob_keras.retrieval.embeddings import (UnknownLayer, compute_embeddings, embedding_model, l2_normalize,
                                                layer_names, model_preprocessing,
                                                pixel_vectors, pooled_features_layer, unit_scale)
from deeprob_keras.retrieval.exact_knn import ExactIndex, exact_knn
from deeprob_keras.retrieval.figure import plot_retrievals
from deeprob_keras.retrieval.precision import neighbour_hits, precision_at_k, precision_at_ks

__all__ = [
    "FaissHNSWIndex", "faiss_available", "recall_at_k", "UnknownLayer", "compute_embeddings", "embedding_model",
    "l2_normalize", "layer_names", "model_preprocessing", "pixel_vectors", "pooled_features_layer", "unit_scale",
    "ExactIndex", "exact_knn", "plot_retrievals", "neighbour_hits", "precision_at_k", "precision_at_ks",
]
