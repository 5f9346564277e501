// Memory a test can watch in its own process (Sluice started in-process holds its buffers there).

/**
 * Starts `work` with the client's socket paused for `pauseMs`, and returns the most this process's
 * ArrayBuffer memory grew meanwhile (sampled every 100 ms) along with the work's result.
 */
export async function peakWhileClientPaused<T>(socket: { pause(): void; resume(): void }, work: () => Promise<T>, pauseMs = 1000): Promise<{ peak: number; result: T }> {
  const before = process.memoryUsage().arrayBuffers
  const running = work()
  socket.pause()
  let peak = 0
  for (let waited = 0; waited < pauseMs; waited += 100) {
    await new Promise((r) => setTimeout(r, 100))
    peak = Math.max(peak, process.memoryUsage().arrayBuffers - before)
  }
  socket.resume()
  return { peak, result: await running }
}
