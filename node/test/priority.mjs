// The CPU priority of the processes under test. On Lambda an execution
// environment has its vCPUs to itself; on a shared test machine with tens of
// runnable tasks on two cores, a process at the default priority can go
// 100 ms and more without the CPU, so a test of the runtime's 300 ms share
// would measure the machine's load, not the library. The process under test
// (and every thread and child of it, which inherit it) runs at a higher
// priority instead: budgets and assertions stay what they are. Only root may
// raise a priority; anyone else runs it at the default. The highest one: at
// -10, a worker thread of the runtime still went 250 ms without the CPU at a
// load of 14 on two cores (2 failures in 10 runs of the managed-instances
// case); the processes under test are idle but for a second or two each.
export const NICENESS = -19;

/** `[command, args]` to spawn so that it runs at NICENESS (as root). */
export function prioritized(command, args) {
  if (process.getuid?.() !== 0) return [command, args];
  return ['nice', ['-n', String(NICENESS), command, ...args]];
}
