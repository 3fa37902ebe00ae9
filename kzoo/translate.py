"""What `kzoo translate` does: moved to `kzoo.translate_files`; this module keeps the old import path."""

from kzoo.translate_files import GRID_MOST, GRID_PAIRS_PER_ROW, default_out, read_inputs, translate_files  # noqa: F401
