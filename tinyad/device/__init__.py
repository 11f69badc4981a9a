"""The Python twins of the device's C: each module computes what a C file of
``firmware/lib/tinyad/`` (or a generated one) computes, on the same integers, so the
tests can compare them exactly.  No TensorFlow at import."""
