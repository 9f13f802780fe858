import { median } from './median.js';

// The shape shared by the CPU-per-request benchmarks: every contender runs once a round, in turn, so that a noisy
// machine slows them alike; the figures are medians over the rounds, and the table divides by one contender's.

export interface CpuSample {
  /** The measured process's CPU per request. */
  cpuUs: number;
  perSecond: number;
}

/** `run(name)` for every contender, `rounds` times in turn; the median of each figure, by contender. */
export async function alternatedRounds<Name extends string>(
  rounds: number,
  contenders: readonly Name[],
  run: (name: Name) => Promise<CpuSample>,
): Promise<Map<Name, CpuSample>> {
  const samples = new Map<Name, CpuSample[]>(contenders.map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of contenders) samples.get(name)?.push(await run(name));
  }
  return new Map(
    [...samples].map(([name, runs]) => [
      name,
      { cpuUs: median(runs.map((r) => r.cpuUs)), perSecond: median(runs.map((r) => r.perSecond)) },
    ]),
  );
}

/** A markdown table of the medians, CPU per request also as a ratio to `baseline`'s. */
export function cpuTable<Name extends string>(
  columns: { contender: string; cpu: string; ratio: string },
  medians: ReadonlyMap<Name, CpuSample>,
  baseline: Name,
): string {
  const base = medians.get(baseline)?.cpuUs ?? Number.NaN;
  const rows = [...medians].map(
    ([name, { cpuUs, perSecond }]) =>
      `| ${name} | ${cpuUs.toFixed(1)} | **${(cpuUs / base).toFixed(2)}** | ${Math.round(perSecond)} |`,
  );
  return [
    `| ${columns.contender} | ${columns.cpu} | ${columns.ratio} | requests/s |`,
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}
