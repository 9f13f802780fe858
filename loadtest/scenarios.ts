import { createHash, randomUUID } from 'node:crypto';
import { type Credential, type CredentialPool, INVALID_KINDS, type InvalidKind } from './credentials.js';

// What each request of a run is: an existing user (node retrieval), a new user (node assignment) or an invalid
// credential of one of four kinds, drawn from a seeded generator so that two runs send the same sequence.

export const SCENARIOS = ['new-users', 'existing-users', 'realistic'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Shares of requests, summing to 1. */
export interface Mix {
  existing: number;
  new: number;
  invalid: number;
}

/** Mozilla's tokenserver bench mix: 95% existing, 4% new, 1% bad credentials. */
export const SCENARIO_MIX: Readonly<Record<ScenarioName, Mix>> = {
  'new-users': { existing: 0, new: 1, invalid: 0 },
  'existing-users': { existing: 1, new: 0, invalid: 0 },
  realistic: { existing: 0.95, new: 0.04, invalid: 0.01 },
};

export type RequestKind = 'existing' | 'new' | `invalid:${InvalidKind}`;

/** What a correct server answers: 200 with a token, or this status with this error status string. */
export type Expectation = { status: 200 } | { status: 401; error: 'invalid-credentials' | 'invalid-timestamp' };

export interface PlannedRequest {
  kind: RequestKind;
  headers: Readonly<Record<string, string>>;
  expect: Expectation;
}

/** mulberry32: a small, fast, seedable generator; the same seed gives the same request sequence. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The fxa uid (32 hex digits) of existing user `index`: stable for a seed, so later runs find the same users. */
export function existingUserId(seed: number, index: number): string {
  return createHash('sha256').update(`loadtest:${seed}:${index}`).digest('hex').slice(0, 32);
}

/** A fresh uid for a new user: `<uuid>@loadtest.local`. */
export function newUserId(): string {
  return randomUUID().replaceAll('-', '');
}

export function expectationFor(kind: RequestKind, scheme: 'browserid' | 'oauth'): Expectation {
  if (kind === 'existing' || kind === 'new') return { status: 200 };
  // Only an expired BrowserID assertion is a clock matter for the client; an expired OAuth token is just invalid.
  if (kind === 'invalid:expired' && scheme === 'browserid') return { status: 401, error: 'invalid-timestamp' };
  return { status: 401, error: 'invalid-credentials' };
}

export class Scenario {
  private readonly random: () => number;
  private readonly expectations = new Map<RequestKind, Expectation>();

  constructor(
    readonly mix: Mix,
    private readonly pool: CredentialPool,
    private readonly existingUsers: readonly string[],
    seed: number,
  ) {
    if (mix.existing > 0 && existingUsers.length === 0) throw new Error('the scenario needs existing users');
    this.random = seededRandom(seed);
    for (const kind of ['existing', 'new', ...INVALID_KINDS.map((k) => `invalid:${k}` as const)] as RequestKind[]) {
      this.expectations.set(kind, expectationFor(kind, pool.signer.scheme));
    }
  }

  next(): PlannedRequest {
    const draw = this.random();
    let kind: RequestKind;
    let credential: Credential;
    if (draw < this.mix.existing) {
      kind = 'existing';
      const uid = this.existingUsers[Math.floor(this.random() * this.existingUsers.length)] as string;
      credential = this.pool.existingUser(uid);
    } else if (draw < this.mix.existing + this.mix.new) {
      kind = 'new';
      credential = this.pool.newUser().credential;
    } else {
      const invalidKind = INVALID_KINDS[Math.floor(this.random() * INVALID_KINDS.length)] as InvalidKind;
      kind = `invalid:${invalidKind}`;
      credential = this.pool.invalid(invalidKind, Math.floor(this.random() * 1024));
    }
    return { kind, headers: credential.headers, expect: this.expectations.get(kind) as Expectation };
  }
}
