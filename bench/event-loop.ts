/** Event-loop stalls, as a service sees them: the soak (bench/soak.ts) and the dispose test measure with this. */

/** The longest the event loop went without running a 5 ms timer, since the last `take()`. */
export function stallMonitor(): { take(): number; stop(): void } {
  let last = performance.now();
  let worst = 0;
  const t = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 5);
    last = now;
  }, 5);
  return {
    take() {
      const w = worst;
      worst = 0;
      last = performance.now();
      return Math.max(0, w);
    },
    stop: () => clearInterval(t),
  };
}
