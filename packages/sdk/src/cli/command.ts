/** Where a command writes; tests and the entry point pass process streams or captures. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream;
}

/** One `contender <name>` subcommand. */
export interface Command {
  readonly name: string;
  /** One line for `contender --help`. */
  readonly summary: string;
  /** Full text for `contender <name> --help`. */
  readonly help: string;
  /** Runs with the arguments after the subcommand name; resolves with the exit code. */
  run(argv: readonly string[], io: CliIo): Promise<number>;
}
