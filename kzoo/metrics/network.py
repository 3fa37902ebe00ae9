"""The evaluator network for images of any shape: a small CNN whose "embedding" layer the metrics use.

kzoo-digits-v1 keeps its own, fixed network (`kzoo.metrics.evaluator.build_evaluator`); every
evaluator `kzoo fit-evaluator` makes is this one, architecture `kzoo-cnn-v1`, sized by the image:

* conv (3x3, ReLU) + 2x2 max-pool stages until the smaller side is at most 4 pixels (32 px: three
  stages, 32 -> 16 -> 8 -> 4; 128 px: five), at least one conv stage; widths double from
  `base_width` up to `max_width`;
* Flatten, then the "embedding" Dense layer (tanh, `embedding_dim` units), dropout, and the logits.

The embedding is tanh for the digit evaluator's reasons: every unit stays alive (a ReLU layer there
lost half its units) and the features stay in [-1, 1], the scale the KID kernel (x.y/d + 1)^3 is
meant for. channels_last explicitly, whatever keras.config.image_data_format() says; any number of
channels. keras is imported inside the functions: importing this module is cheap.
"""

from __future__ import annotations

ARCHITECTURE = "kzoo-cnn-v1"
EMBEDDING_DIM = 64
BASE_WIDTH = 32
MAX_WIDTH = 64
SMALLEST_SIDE = 4
DROPOUT = 0.3


def stage_widths(input_shape, base_width: int = BASE_WIDTH, max_width: int = MAX_WIDTH) -> list[int]:
    """The width of each conv stage for images of `input_shape` (H, W, C): one stage per halving
    until the smaller side is at most SMALLEST_SIDE, at least one."""
    side = min(int(input_shape[0]), int(input_shape[1]))
    halvings = 0
    while side > SMALLEST_SIDE:
        side //= 2
        halvings += 1
    return [min(base_width * 2 ** i, max_width) for i in range(max(halvings, 1))]


def architecture(input_shape, num_classes: int, embedding_dim: int = EMBEDDING_DIM,
                 base_width: int = BASE_WIDTH, max_width: int = MAX_WIDTH) -> dict:
    """The description of the network (what evaluator.json records and `build_classifier` takes)."""
    shape = [int(d) for d in input_shape]
    return {"name": ARCHITECTURE, "input_shape": shape, "num_classes": int(num_classes),
            "embedding_dim": int(embedding_dim), "widths": stage_widths(shape, base_width, max_width),
            "pool": min(shape[0], shape[1]) > SMALLEST_SIDE}


def build_classifier(spec: dict):
    """The classifier described by `spec` (see `architecture`): image in [-1, 1] -> logits.

    Args:
        spec: a dict of `architecture`'s form (evaluator.json's "architecture").

    Returns:
        An uncompiled `keras.Model` with the layers "embedding" and "logits".

    Raises:
        ValueError: `spec` names another architecture.
    """
    import keras
    from keras import layers

    if spec.get("name") != ARCHITECTURE:
        raise ValueError(f"unknown evaluator architecture {spec.get('name')!r}; this kzoo builds {ARCHITECTURE}")
    inputs = keras.Input(shape=tuple(spec["input_shape"]), name="image")
    x = inputs
    for i, width in enumerate(spec["widths"], start=1):
        x = layers.Conv2D(width, 3, padding="same", activation="relu", data_format="channels_last",
                          name=f"conv{i}")(x)
        if spec["pool"]:
            x = layers.MaxPooling2D(2, data_format="channels_last", name=f"pool{i}")(x)
    x = layers.Flatten(data_format="channels_last", name="flatten")(x)
    x = layers.Dense(spec["embedding_dim"], activation="tanh", name="embedding")(x)
    x = layers.Dropout(DROPOUT, name="dropout")(x)
    logits = layers.Dense(spec["num_classes"], name="logits")(x)
    return keras.Model(inputs, logits, name="kzoo_cnn_v1")
