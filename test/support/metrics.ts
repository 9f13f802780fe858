/** One sample of a Prometheus text answer at `url` (the first series of `name`), or undefined. */
export async function sample(url: string, name: string): Promise<number | undefined> {
  return sampleOf(await (await fetch(url)).text(), name);
}

/** The first series of `name` in a Prometheus text answer, or undefined. */
export function sampleOf(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}
