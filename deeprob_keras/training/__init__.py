"""The one training path from a recipe, and SavedModel export."""

from deeprob_keras.training.builders import build_loss, build_optimizer
from deeprob_keras.training.export import export_saved_model, export_serving_version
from deeprob_keras.training.run import TrainingDiverged, TrainResult, build_compiled_model, load_recipe_datasets, train_recipe
from deeprob_keras.training.two_phase import phase_recipes, train_transfer
