# The container every component of the compiled Kubeflow pipeline runs in
# (`deeprob pipeline compile --kubeflow`; its image is PipelineConfig.kubeflow_image).
#
#   make image                      # = docker build -t $(IMAGE) .  (IMAGE: the pipeline's default name)
#   make image IMAGE=REGISTRY/deeprob-keras:0.1.0   # then docker push it and set kubeflow_image to it
#
# TFX 1.16's own image: TFX, TensorFlow 2.16 and the TFX executor entrypoint that the
# compiled pipeline's containers call (kept as it is). On top: this package with the
# [pipeline] extra (the same pins as pyproject.toml), and the recipes.
#
# The pretrained backbone (transfer recipes with a `.keras` backbone): the Trainer loads
# the file named by the pipeline config's `backbone_model` from the container's own
# file system (the library checks it with os.path.exists: not a gs:// path). Either
#   - baked in: when the build context holds runs/pipeline/backbone/model.keras (left
#     there by `make demo` / `deeprob pipeline run`), it is copied to
#     /models/backbone.keras; compile with `backbone_model: /models/backbone.keras`; or
#   - mounted: build without it and mount a volume holding the file at the path that
#     `backbone_model` names (e.g. a Kubernetes volume at /models).
FROM tensorflow/tfx:1.16.0

WORKDIR /deeprob
COPY pyproject.toml setup.py README.md ./
COPY deeprob_keras ./deeprob_keras
COPY pipeline ./pipeline
RUN python -m pip install --no-cache-dir ".[pipeline]"

# Recipes as files (the compiled pipeline also carries its resolved recipe in the
# Trainer's custom_config); e.g. /deeprob/recipes/pipeline_transfer_fashion_5_9.yaml.
COPY recipes ./recipes

# Baked-in backbone when present (the pattern [s] matches nothing when it is absent;
# pyproject.toml is there so that COPY always has one source).
COPY pyproject.toml runs/pipeline/backbone/model.kera[s] /tmp/backbone/
RUN if [ -f /tmp/backbone/model.keras ]; then \
        mkdir -p /models && mv /tmp/backbone/model.keras /models/backbone.keras; \
        echo "backbone baked in: /models/backbone.keras"; \
    else \
        echo "no runs/pipeline/backbone/model.keras in the build context: mount the backbone at backbone_model"; \
    fi; \
    rm -rf /tmp/backbone
