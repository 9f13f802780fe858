/** One sample of a Prometheus text answer at `url` (the first series of `name`), or undefined. */
export async function sample(url: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(url)).text();
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text);
  return match ? Number(match[1]) : undefined;
}
