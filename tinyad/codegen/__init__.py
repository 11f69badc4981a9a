"""The C generators of the ``codegen`` stage: one C-writing layer, one emitter per output.

- :mod:`tinyad.codegen.cgen`: identifiers, include guards, literals, arrays, the banner
  and the one file writer (every emitter goes through it);
- :mod:`tinyad.codegen.model` (with :mod:`tinyad.codegen.requant`, the requantization
  folded into constants): the int8 model as plain C, bit-exact with TFLite Micro;
- :mod:`tinyad.codegen.features`: the feature pipeline, bit-exact with tinyad/device/features.py;
- :mod:`tinyad.codegen.device_config`: the table of device constants and ``tinyad_config.h``;
- :mod:`tinyad.codegen.emitters`: what the stage runs (inputs, emitters, metrics).
"""
