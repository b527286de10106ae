/**
 * The engine's cache folder in Node: `$EFFNET_CACHE`, else `$XDG_CACHE_HOME/effnet-webgpu`, else
 * `~/.cache/effnet-webgpu`. The pretrained weights, the tuning cache and the peers' written models live under it.
 */
export async function defaultCacheDir(): Promise<string> {
  const { join } = await import('node:path');
  const { homedir } = await import('node:os');
  if (process.env.EFFNET_CACHE) return process.env.EFFNET_CACHE;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? xdg : join(homedir(), '.cache'), 'effnet-webgpu');
}

/** `data` written beside `path` and renamed over it, so no reader sees it half written (Node only). */
export async function replaceFile(path: string, data: Uint8Array | string): Promise<void> {
  const { rename, rm, writeFile } = await import('node:fs/promises');
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } finally {
    await rm(tmp, { force: true });
  }
}
