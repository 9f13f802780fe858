import fc from 'fast-check';
import { armWatchdog, disarmWatchdog, reportProgress } from './fuzz-watchdog.js';

// Fuzzing helpers: how many inputs each property gets (FUZZ_RUNS scales them), a per-input time bound, the rule
// that only the parser's typed errors may escape, and mutations that corrupt valid inputs in structured ways.

/** Inputs per property of weight 1; `FUZZ_RUNS=100000 npm run fuzz` for a long run. */
export const FUZZ_RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
/** Longest one input may take: far above a linear parse, far below a hang or catastrophic backtracking. */
export const INPUT_TIME_BOUND_MS = Number(process.env.FUZZ_INPUT_BOUND_MS ?? 1000);
/** An input still running after this long is a hang: the watchdog kills the run (a blocked loop cannot time out). */
export const HANG_LIMIT_MS = Number(process.env.FUZZ_HANG_LIMIT_MS ?? 30_000);
/** Every property of a run draws from this seed; `FUZZ_SEED=<seed>` replays the same inputs. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 0x7fffffff));

type ErrorClass = abstract new (...args: never[]) => Error;

/** Calls `parse` and returns its value, or undefined when it threw one of `allowed`; anything else is a crash. */
export function typedOutcome<T>(allowed: readonly ErrorClass[], parse: () => T): T | undefined {
  try {
    return parse();
  } catch (err) {
    if (allowed.some((type) => err instanceof type)) return undefined;
    throw new Error(`untyped error escaped: ${(err as Error)?.stack ?? String(err)}`);
  }
}

export async function typedOutcomeAsync<T>(
  allowed: readonly ErrorClass[],
  parse: () => Promise<T>,
): Promise<T | undefined> {
  try {
    return await parse();
  } catch (err) {
    if (allowed.some((type) => err instanceof type)) return undefined;
    throw new Error(`untyped error escaped: ${(err as Error)?.stack ?? String(err)}`);
  }
}

function checkTime(startedAt: number): void {
  const elapsed = performance.now() - startedAt;
  if (elapsed > INPUT_TIME_BOUND_MS) throw new Error(`one input took ${Math.round(elapsed)} ms`);
}

/** fast-check's options for a property of `weight`, with the hang watchdog armed until `disarmWatchdog`. */
function runOptions(weight: number): { numRuns: number; seed: number } {
  armWatchdog(HANG_LIMIT_MS, `replay with FUZZ_SEED=${FUZZ_SEED}`);
  return { numRuns: Math.max(1, Math.round(FUZZ_RUNS * weight)), seed: FUZZ_SEED };
}

/** Runs `check` on `weight × FUZZ_RUNS` inputs, each within the time bound. */
export function fuzz<T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => void, weight = 1): void {
  try {
    fc.assert(
      fc.property(arbitrary, (input) => {
        const startedAt = performance.now();
        check(input);
        checkTime(startedAt);
        reportProgress();
      }),
      runOptions(weight),
    );
  } finally {
    disarmWatchdog();
  }
}

export async function fuzzAsync<T>(
  arbitrary: fc.Arbitrary<T>,
  check: (input: T) => Promise<void>,
  weight = 1,
): Promise<void> {
  try {
    await fc.assert(
      fc.asyncProperty(arbitrary, async (input) => {
        const startedAt = performance.now();
        await check(input);
        checkTime(startedAt);
        reportProgress();
      }),
      runOptions(weight),
    );
  } finally {
    disarmWatchdog();
  }
}

/** One way to corrupt a byte string: flip, drop, insert, truncate, or plant a huge length. */
export type ByteMutation =
  | { kind: 'flip'; at: number; mask: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'huge-u32'; at: number }
  | { kind: 'huge-u16'; at: number };

export const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), mask: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('huge-u32' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('huge-u16' as const), at: fc.nat() }),
);

export function mutateBytes(input: Buffer, mutation: ByteMutation): Buffer {
  const at = input.length === 0 ? 0 : mutation.at % (input.length + 1);
  const out = Buffer.from(input);
  switch (mutation.kind) {
    case 'flip':
      if (at < out.length) out[at] = (out[at] as number) ^ mutation.mask;
      return out;
    case 'truncate':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), mutation.bytes, out.subarray(at)]);
    case 'huge-u32':
      if (at + 4 <= out.length) out.writeUInt32BE(0xffffffff - (at % 7), at);
      return out;
    case 'huge-u16':
      if (at + 2 <= out.length) out.writeUInt16BE(0xffff, at);
      return out;
  }
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Text made of base64url characters and the given separators: it gets past character checks into the parser. */
export function tokenLikeText(separators: string, maxLength = 300): fc.Arbitrary<string> {
  return fc.string({ unit: fc.constantFrom(...`${BASE64URL}${separators}`), maxLength });
}

/** JSON values nested deep or wide, as base64url: a segment a parser will decode and JSON.parse. */
export const encodedJsonSegment: fc.Arbitrary<string> = fc
  .oneof(
    fc.json({ depthSize: 'large' }),
    fc.integer({ min: 1, max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.integer({ min: 1, max: 5000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
    fc.constantFrom('{}', '{"alg":null}', '{"alg":"none"}', '{"alg":"RS256","crit":["b64"],"b64":false}', 'null'),
  )
  .map((json) => Buffer.from(json).toString('base64url'));

/** Corrupts a compact token (`a.b.c~d.e.f`): a character, a segment replaced or repeated, a cut, a huge copy. */
export function mutatedToken(valid: fc.Arbitrary<string>, separators: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc
      .tuple(valid, fc.nat(), fc.constantFrom(...`${BASE64URL}${separators}=+/ `))
      .map(([text, at, char]) => replaceAt(text, at % text.length, char)),
    fc.tuple(valid, fc.nat(), fc.nat({ max: 40 })).map(([text, at, length]) => {
      const start = at % text.length;
      return text.slice(0, start) + text.slice(start + length);
    }),
    fc.tuple(valid, fc.nat(), encodedJsonSegment).map(([text, at, segment]) => replaceSegment(text, at, segment)),
    fc.tuple(valid, fc.nat(), tokenLikeText('', 80)).map(([text, at, segment]) => replaceSegment(text, at, segment)),
    fc
      .tuple(valid, fc.nat({ max: 6 }), fc.constantFrom(...separators))
      .map(([text, times, separator]) => Array.from({ length: times + 1 }, () => text).join(separator)),
    fc.tuple(valid, fc.integer({ min: 1000, max: 100_000 })).map(([text, length]) => text.padEnd(length, 'A')),
  );
}

function replaceAt(text: string, at: number, char: string): string {
  return text.slice(0, at) + char + text.slice(at + 1);
}

/** Replaces the `at`-th segment (split on `.` and `~`) by `segment`. */
function replaceSegment(text: string, at: number, segment: string): string {
  const parts = text.split(/([.~])/);
  const segments = parts.filter((_, index) => index % 2 === 0).length;
  const target = (at % segments) * 2;
  return parts.map((part, index) => (index === target ? segment : part)).join('');
}
