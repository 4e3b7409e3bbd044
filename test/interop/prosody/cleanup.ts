/**
 * Last-resort cleanup for test peers (Prosody, mcabber): when the test process exits or is
 * interrupted (SIGINT, SIGTERM, SIGHUP) while some are still running, their synchronous
 * cleanup functions run (kill by pid, remove temp dirs). Normal runs stop peers themselves and
 * unregister; this only catches aborted runs.
 */
type Cleanup = () => void;

const pending = new Set<Cleanup>();
let installed = false;

function runAll(): void {
  for (const cleanup of [...pending]) {
    pending.delete(cleanup);
    try {
      cleanup();
    } catch {
      // best effort
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', runAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      runAll();
      // If nobody else (e.g. mocha) handles the signal, die of it as without us.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/** Registers `cleanup` until the returned function is called (when the peer stopped normally). */
export function registerCleanup(cleanup: Cleanup): () => void {
  install();
  pending.add(cleanup);
  return () => {
    pending.delete(cleanup);
  };
}
