"""The exposure surface's cells at or above a threshold, computed tile by tile where the grid would be large.

``geo.risk.aggregate.exposure_grid`` convolves one dense grid over the points' bounding box: over a city or a
province that is a few million cells, but over the whole country (5,000 by 4,000 km at 250 m) it would be 300
million cells per class, several GB.  The surface is a sum of kernels no wider than the largest bandwidth, so a
square tile of the grid depends only on the points within that bandwidth of it: each tile that holds points, or
borders one that does, is convolved on its own with a halo as wide as the widest kernel, and only its inner part
is kept.  Same cells, same ids, the same values up to the FFT's rounding (about 1e-13, which the threshold's
1e-9 margin already absorbs); a grid of at most ``DENSE_CELLS_MAX`` cells is still computed whole.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DENSE_CELLS_MAX = 16_000_000  # 128 MB per class grid
TILE = 512  # cells on a side


def cells_at_or_above(points: pd.DataFrame, model: dict, anchor: tuple[float, float], threshold: float,
                      dense_cells_max: int = DENSE_CELLS_MAX):
    """(x centres, y centres, values, transformer) of the cells whose exposure is at least ``threshold`` (less
    1e-9), in the local projection of ``anchor``, in row-major order (y, then x); by tiles when the whole grid
    would hold more than ``dense_cells_max`` cells."""
    from geo.risk.aggregate import _convolve_same, exposure_grid, local_transformer, quartic_weight

    cell = float(model["exposure"]["cell_m"])
    bandwidths = model["exposure"]["bandwidth_m"]
    to_local = local_transformer(*anchor)
    x, y = to_local.transform(points["lon"].to_numpy(), points["lat"].to_numpy())
    pad = max(bandwidths.values()) + cell
    cells = ((np.ptp(x) + 2 * pad) / cell + 2) * ((np.ptp(y) + 2 * pad) / cell + 2)
    if cells <= dense_cells_max:
        xs, ys, values, _ = exposure_grid(points, model, anchor)
        iy, ix = np.nonzero(values >= threshold - 1e-9)
        return xs[ix], ys[iy], values[iy, ix], to_local

    gx, gy = np.floor(x / cell).astype(np.int64), np.floor(y / cell).astype(np.int64)
    radius = {kind: int(np.ceil(h / cell)) for kind, h in bandwidths.items()}
    halo = max(radius.values())
    if halo >= TILE:
        raise ValueError(f"an exposure bandwidth of {max(bandwidths.values())} m is wider than a tile "
                         f"({TILE} cells of {cell} m)")
    kernels = {kind: quartic_weight(np.hypot(*np.meshgrid(np.arange(-r, r + 1) * cell,
                                                         np.arange(-r, r + 1) * cell)), bandwidths[kind])
               for kind, r in radius.items()}
    kind_of = points["kind"].to_numpy()
    score = points["score"].to_numpy(dtype="float64")
    tx, ty = gx // TILE, gy // TILE
    key = ty * (1 << 32) + (tx + (1 << 31))
    order = np.argsort(key, kind="stable")
    tiles, starts = np.unique(key[order], return_index=True)
    members = dict(zip(tiles.tolist(), np.split(order, starts[1:]), strict=True))
    to_do = sorted({(int(a) + dy, int(b) + dx) for a, b in zip(ty[order[starts]], tx[order[starts]], strict=True)
                    for dy in (-1, 0, 1) for dx in (-1, 0, 1)})
    side = TILE + 2 * halo
    out_x, out_y, out_v = [], [], []
    for ty0, tx0 in to_do:
        near = [members.get(int((ty0 + dy) * (1 << 32) + (tx0 + dx + (1 << 31))))
                for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        idx = np.sort(np.concatenate([m for m in near if m is not None]))  # the points' order, as the dense sum
        lx, ly = gx[idx] - (tx0 * TILE - halo), gy[idx] - (ty0 * TILE - halo)
        inside = (lx >= 0) & (lx < side) & (ly >= 0) & (ly < side)
        idx, lx, ly = idx[inside], lx[inside], ly[inside]
        if idx.size == 0:
            continue
        total = np.zeros((side, side))
        for kind, kernel in kernels.items():
            mask = kind_of[idx] == kind
            if not mask.any():
                continue
            grid = np.zeros((side, side))
            np.add.at(grid, (ly[mask], lx[mask]), score[idx][mask])
            total += _convolve_same(grid, kernel)
        inner = np.maximum(total[halo:halo + TILE, halo:halo + TILE], 0.0)
        iy, ix = np.nonzero(inner >= threshold - 1e-9)
        out_x.append(tx0 * TILE + ix), out_y.append(ty0 * TILE + iy), out_v.append(inner[iy, ix])
    if not out_x:
        return np.empty(0), np.empty(0), np.empty(0), to_local
    cx, cy, values = np.concatenate(out_x), np.concatenate(out_y), np.concatenate(out_v)
    row_major = np.lexsort((cx, cy))
    return (cx[row_major] + 0.5) * cell, (cy[row_major] + 0.5) * cell, values[row_major], to_local
