"""Image-to-image data: moved to `kzoo.data.pairs` (loading) and `kzoo.data.transforms` (the tasks' transforms).

This module keeps the old import path, `from kzoo import tasks`, working.
"""

from kzoo.data.pairs import (  # noqa: F401
    HALVES_SEED, NOISE_SEED, ImagePairs, describe, fit_arrays, heldout_pairs, is_task, load_pairs,
)
from kzoo.data.specs import (  # noqa: F401
    EDGES, MASKED, NOISY, PAIRED_FORMATS, PAIRED_TASKS, TASKS, THICK, UNPAIRED_FORMATS, UNPAIRED_TASKS,
)
from kzoo.data.transforms import (  # noqa: F401
    BLUR_SIGMA, HOLE_SIZE, NOISE_SIGMA, degrade, edges, hole_box, mask_centre, mean_colour, thicken,
)
