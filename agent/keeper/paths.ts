/** Where the keeper keeps things in a state directory (the README's layout). */
export function keeperPaths(stateDir: string) {
  const spool = `${stateDir}/spool`;
  return {
    socket: `${stateDir}/keeper.sock`,
    lock: `${stateDir}/keeper.lock`,
    log: `${stateDir}/keeper.log`,
    procs: `${stateDir}/procs`,
    spool,
    spoolFile: (id: string, stream: "stdout" | "stderr") => `${spool}/${id}.${stream}`,
  };
}
