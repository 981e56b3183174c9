/** Agent entry point (stub). */
export function agentMain(_args: string[]): Promise<number> {
  return Promise.resolve(0);
}
