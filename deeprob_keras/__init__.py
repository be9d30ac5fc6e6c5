"""deeprob-keras."""
