"""The fixed train / held-out split of mnist-5k: moved to `kzoo.data.splits` (it is data, which metrics read).

This module keeps the old import path, `from kzoo.metrics import splits`, working.
"""

from kzoo.data.splits import (  # noqa: F401
    DATASET_PATH, HELDOUT_PER_CLASS, HELDOUT_SHA256, NUM_CLASSES, SPLIT_SEED, heldout_images, heldout_indices,
    heldout_sha256, load_mnist5k, split_arrays, to_model_range, train_images, train_indices,
)
