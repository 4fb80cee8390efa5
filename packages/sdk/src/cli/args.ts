import { access, constants } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Bad command-line input: reported as one line on stderr with exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Runs a `parseArgs` call, turning its errors (unknown option, missing value…) into UsageErrors. */
export function usageErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) throw new UsageError((err as Error).message.split('\n')[0]!);
    throw err;
  }
}

/** Every command takes -h/--help. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

export function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

/** A number option: undefined when absent, a UsageError when not a number or out of range. */
export function numberOption(
  value: string | undefined,
  flag: string,
  { integer = false, min = -Infinity, max = Infinity, exclusiveMin = false }: { integer?: boolean; min?: number; max?: number; exclusiveMin?: boolean } = {},
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  const inRange = (exclusiveMin ? n > min : n >= min) && n <= max;
  if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || !inRange) {
    const kind = integer ? 'an integer' : 'a number';
    let range = '';
    if (Number.isFinite(min) && Number.isFinite(max)) range = ` in ${exclusiveMin ? '(' : '['}${min}, ${max}]`;
    else if (Number.isFinite(min)) range = ` ${exclusiveMin ? '>' : '>='} ${min}`;
    else if (Number.isFinite(max)) range = ` <= ${max}`;
    throw new UsageError(`${flag} must be ${kind}${range}, got ${JSON.stringify(value)}`);
  }
  return n;
}

export function choiceOption<T extends string>(value: string | undefined, flag: string, choices: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(value)}`);
  return value as T;
}

/** Fails before any work is done when an output file could not be written (missing directory, no permission). */
export async function checkWritable(path: string, flag: string): Promise<void> {
  const directory = dirname(resolve(path));
  try {
    await access(directory, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${path}: directory ${directory} does not exist or is not writable`);
  }
}
