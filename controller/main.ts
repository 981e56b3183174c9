/** Controller entry point (stub). */
export function controllerMain(_args: string[]): Promise<number> {
  return Promise.resolve(0);
}
