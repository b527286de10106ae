/**
 * mulberry32, the one seeded PRNG: kernel cases, random weights and test tensors draw from it, so that a seed gives
 * the same numbers in Node and in every browser (fixtures and references depend on the exact sequences).
 */

/** The generator's raw outputs: unsigned 32-bit integers. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Uniform in [0, 1): each raw output over 2³². */
export function seededUniform(seed: number): () => number {
  const next = mulberry32(seed);
  return () => next() / 4294967296;
}
