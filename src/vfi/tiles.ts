// Splitting a planar frame into overlapping tiles and blending the results back. Tiles are laid
// out with a stride of size − overlap; the last tile of a row or column is moved back so that it
// ends at the border (tiles never reach outside the frame). Each tile's output is weighted by a
// separable ramp that rises linearly across the overlap on every side that faces another tile
// (weight 1 at the frame border), and the blend divides by the summed weights, so seams fade
// instead of stepping.

export interface Tile {
  x: number;
  y: number;
}

export function tileStarts(extent: number, size: number, overlap: number): number[] {
  if (size >= extent) return [0];
  const stride = size - overlap;
  if (stride <= 0) throw new RangeError(`tile overlap ${overlap} must be smaller than the tile size ${size}`);
  const starts: number[] = [];
  for (let s = 0; ; s += stride) {
    if (s + size >= extent) {
      starts.push(extent - size);
      break;
    }
    starts.push(s);
  }
  return starts;
}

export function layoutTiles(w: number, h: number, tw: number, th: number, overlap: number): Tile[] {
  const tiles: Tile[] = [];
  for (const y of tileStarts(h, th, overlap)) for (const x of tileStarts(w, tw, overlap)) tiles.push({ x, y });
  return tiles;
}

/** Ramp weights of length `size` for a tile starting at `start` in a frame of `extent`. */
export function ramp(start: number, size: number, extent: number, overlap: number): Float32Array {
  const r = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    let v = 1;
    if (start > 0 && overlap > 0) v = Math.min(v, (i + 0.5) / overlap);
    if (start + size < extent && overlap > 0) v = Math.min(v, (size - i - 0.5) / overlap);
    r[i] = v;
  }
  return r;
}

/** Copies the tile at (x, y) of size tw×th out of a planar 3×h×w frame. */
export function extractTile(src: Float32Array, w: number, h: number, x: number, y: number, tw: number, th: number, dst: Float32Array): void {
  for (let c = 0; c < 3; c++) {
    for (let r = 0; r < th; r++) {
      const s = c * w * h + (y + r) * w + x;
      dst.set(src.subarray(s, s + tw), c * tw * th + r * tw);
    }
  }
}

/** acc += tile·weight, wsum += weight, over the tile's area. */
export function accumulateTile(
  acc: Float32Array,
  wsum: Float32Array,
  w: number,
  h: number,
  tile: Float32Array,
  x: number,
  y: number,
  tw: number,
  th: number,
  wx: Float32Array,
  wy: Float32Array,
): void {
  const plane = w * h;
  const tplane = tw * th;
  for (let r = 0; r < th; r++) {
    const row = (y + r) * w + x;
    const trow = r * tw;
    const ry = wy[r];
    for (let i = 0; i < tw; i++) {
      const k = ry * wx[i];
      const d = row + i;
      const s = trow + i;
      acc[d] += tile[s] * k;
      acc[d + plane] += tile[s + tplane] * k;
      acc[d + 2 * plane] += tile[s + 2 * tplane] * k;
      wsum[d] += k;
    }
  }
}

/** acc /= wsum, in place. */
export function normalize(acc: Float32Array, wsum: Float32Array): void {
  const plane = wsum.length;
  for (let d = 0; d < plane; d++) {
    const inv = 1 / wsum[d];
    acc[d] *= inv;
    acc[d + plane] *= inv;
    acc[d + 2 * plane] *= inv;
  }
}
