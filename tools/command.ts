/** One `effnet` subcommand. `run` returns the process exit code; errors it throws are printed by the CLI as one line. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(args: string[]): Promise<number>;
}
