"""The parts of the throughput benchmark; `benchmarks/throughput.py` is its command line.

  harness      the model under test (`Spec`, `model_factory`) and the variant API (`Variant`, `LoopVariant`)
  kzoo_fit     the kzoo variant: `model.fit()`
  native       each backend's own loop around the same Keras networks
  plain        what the plain (no Keras) loops share; plain_torch and plain_jax are the loops
  timing       warm-up, calibration and the interleaved rounds (`measure`)
  report       the JSON result and its table

Imported from benchmarks/ (on sys.path, as every script there puts it), as `_throughput.NAME`;
like `_common` and `_trainers`, a leading underscore marks it a helper, not a command. Nothing in
it imports keras or a backend at import time.
"""
