"""The model and its decision: Keras training (``train``), int8 quantization and the
calibrated decision code (``quantize``).  TensorFlow is imported inside functions only."""
