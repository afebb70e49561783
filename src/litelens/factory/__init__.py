"""Model factory: builds models in TensorFlow and converts them with the official converter."""
