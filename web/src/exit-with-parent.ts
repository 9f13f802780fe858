// Preloaded (`node --import`) into every child of `tokenserver start`: when the parent goes away, even by
// SIGKILL, its IPC channel closes and the child stops as on SIGTERM (draining what it holds), so no broker,
// worker supervisor, web front or node outlives the stack. The children's own code needs no change for this.

/** Past this, a child still draining after its parent went away exits anyway. */
const ORPHAN_GRACE_MS = 15_000;

process.once('disconnect', () => {
  setTimeout(() => process.exit(1), ORPHAN_GRACE_MS).unref();
  process.kill(process.pid, 'SIGTERM');
});
