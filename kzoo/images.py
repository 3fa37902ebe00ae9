"""Sample grids and loss curves as image files: moved to `kzoo.pictures` (it draws pictures; it loads no data).

This module keeps the old import path, `from kzoo import images`, working.
"""

from kzoo.pictures import grid, plot_losses, save_grid, to_uint8  # noqa: F401
