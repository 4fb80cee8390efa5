import { DataError } from '@contender/ml';
import { ContenderApiError } from '../client/errors.js';
import { apiErrorLine } from './api-commands.js';
import { UsageError } from './args.js';
import type { CliIo, Command } from './command.js';
import { COMMANDS } from './commands.js';
import { ModelError } from './onnx-scorer.js';

function overview(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: contender <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Run "contender <command> --help" for the options of a command.',
  ].join('\n');
}

/** Node's file-system errors, reworded: "cannot read x.csv: no such file or directory". */
function fileErrorMessage(err: NodeJS.ErrnoException): string | undefined {
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
    ENOTDIR: 'a parent is not a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
  };
  const reason = err.code !== undefined ? reasons[err.code] : undefined;
  if (!reason) return undefined;
  return err.path ? `${err.path}: ${reason}` : reason;
}

/**
 * Runs one `contender` invocation and resolves with its exit code: 0 success, 1 bad data, model
 * or file, 2 bad usage. Every failure is one line on stderr (with the stack as well when
 * CONTENDER_DEBUG is set), prefixed with the command it came from.
 */
export async function runCli(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(`${overview(commands)}\n`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(`${overview(commands)}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(`contender: unknown command "${name}" (commands: ${commands.map((c) => c.name).join(', ')})\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    const prefix = `contender ${command.name}`;
    if (process.env.CONTENDER_DEBUG && err instanceof Error) io.stderr.write(`${err.stack}\n`);
    if (err instanceof UsageError) {
      io.stderr.write(`${prefix}: ${err.message} (see contender ${command.name} --help)\n`);
      return 2;
    }
    if (err instanceof ContenderApiError) {
      io.stderr.write(`${apiErrorLine(prefix, err)}\n`);
      return 1;
    }
    const fileMessage = (err as NodeJS.ErrnoException)?.code ? fileErrorMessage(err as NodeJS.ErrnoException) : undefined;
    const message = err instanceof DataError || err instanceof ModelError ? err.message : (fileMessage ?? (err instanceof Error ? err.message : String(err)));
    io.stderr.write(`${prefix}: ${message.split('\n')[0]}\n`);
    return 1;
  }
}
