import { type ParseArgsConfig, parseArgs } from 'node:util';

// Command-line options of the benchmark scripts: a mistyped option stops the program with a one-line message and
// exit code 2, never a stack trace or a run with NaN in it.

function stop(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

/**
 * `--name value` string options and `--flag` switches, as node:util parseArgs reads them: unknown options (a typo
 * such as `--round 3`) are refused rather than ignored.
 */
export function benchArgs(
  names: readonly string[],
  flags: readonly string[] = [],
): Record<string, string | boolean | undefined> {
  const options: ParseArgsConfig['options'] = Object.fromEntries([
    ...names.map((name) => [name, { type: 'string' }]),
    ...flags.map((flag) => [flag, { type: 'boolean' }]),
  ]);
  try {
    return parseArgs({ options }).values;
  } catch (err) {
    return stop((err as Error).message);
  }
}

/**
 * A numeric option (`text` as given, or `fallback` when absent). Anything but a positive number, and a whole one
 * unless `whole` is false, stops the program.
 */
export function numericOption(
  name: string,
  text: string | boolean | undefined,
  fallback: number,
  whole = true,
): number {
  const value = typeof text === 'string' ? Number(text) : fallback;
  if (!(value > 0) || !Number.isFinite(value) || (whole && !Number.isInteger(value))) {
    stop(`--${name} must be a positive ${whole ? 'whole ' : ''}number, not ${text}`);
  }
  return value;
}
