import { expect } from 'chai';
import {
  apiEndpoint,
  apiErrorForStoreError,
  checkAfterWrite,
  checkClientStateChange,
  plannedUpdate,
} from '../../web/src/accounts.js';
import { apiErrors, TokenServerError } from '../../web/src/api-errors.js';
import { NoNodeError, StoreTimeoutError, StoreUnavailableError, type UserRecord } from '../../web/src/db/store.js';

// The pure parts of the account rules (reference §1.5); the store-backed flows run in the conformance suite.

const stored = (overrides: Partial<UserRecord> = {}): UserRecord => ({
  uid: 7,
  service: 'sync-1.5',
  email: 'a@x',
  generation: 10,
  keysChangedAt: 10,
  clientState: 'aa',
  createdAt: 1,
  replacedAt: null,
  nodeId: 1,
  nodeUrl: 'https://n',
  oldClientStates: ['zz'],
  firstSeenAt: 1,
  ...overrides,
});

function statusOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    expect(err).to.be.instanceOf(TokenServerError);
    return `${(err as TokenServerError).status}: ${(err as TokenServerError).description}`;
  }
}

describe('account rules', () => {
  it('plans generation and keys_changed_at updates (steps 2-3)', () => {
    expect(plannedUpdate(stored(), { generation: 12, keysChangedAt: 11, clientState: 'aa' })).to.deep.equal({
      generation: 12,
      keysChangedAt: 11,
    });
    expect(plannedUpdate(stored(), { generation: 0, keysChangedAt: 15, clientState: 'aa' })).to.deep.equal({
      generation: 15,
      keysChangedAt: 15,
    });
    expect(
      plannedUpdate(stored({ keysChangedAt: null }), { generation: 10, keysChangedAt: 0, clientState: 'aa' }),
    ).to.deep.equal({});
    expect(statusOf(() => plannedUpdate(stored(), { generation: 11, keysChangedAt: 12, clientState: 'aa' }))).to.equal(
      'invalid-keysChangedAt: Unauthorized',
    );
  });

  it('checks client-state changes (step 4)', () => {
    const check = (generation: number, keysChangedAt: number, clientState: string) => {
      const claims = { generation, keysChangedAt, clientState };
      return statusOf(() => checkClientStateChange(stored(), claims, plannedUpdate(stored(), claims)));
    };
    expect(check(11, 11, '')).to.equal('invalid-client-state: Unacceptable client-state value empty string');
    expect(check(11, 11, 'zz')).to.equal('invalid-client-state: Unacceptable client-state value stale value');
    expect(check(10, 0, 'bb')).to.equal(
      'invalid-client-state: Unacceptable client-state value new value with no generation change',
    );
    expect(check(11, 10, 'bb')).to.equal(
      'invalid-client-state: Unacceptable client-state value new value with no keys_changed_at change',
    );
    expect(check(11, 11, 'bb')).to.equal(undefined);
    expect(check(0, 11, 'bb')).to.equal(undefined);
  });

  it('checks the record after the write (step 6)', () => {
    expect(statusOf(() => checkAfterWrite(stored(), { generation: 9, keysChangedAt: 10, clientState: 'aa' }))).to.equal(
      'invalid-generation: Unauthorized',
    );
    expect(statusOf(() => checkAfterWrite(stored(), { generation: 10, keysChangedAt: 0, clientState: 'aa' }))).to.equal(
      'invalid-keysChangedAt: Unauthorized',
    );
    expect(statusOf(() => checkAfterWrite(stored(), { generation: 0, keysChangedAt: 10, clientState: 'aa' }))).to.equal(
      undefined,
    );
  });

  it('fills the api_endpoint pattern', () => {
    expect(apiEndpoint('{node}/1.5/{uid}', { nodeUrl: 'https://n', uid: 42, service: 'sync-1.5' })).to.equal(
      'https://n/1.5/42',
    );
    expect(apiEndpoint('{node}/{service}/{uid}/{uid}', { nodeUrl: 'h', uid: 1, service: 's' })).to.equal('h/s/1/1');
  });

  it('maps store failures to 503 (504 for timeouts) with Retry-After, and nothing else', () => {
    for (const err of [new StoreUnavailableError('down'), new NoNodeError('full')]) {
      const mapped = apiErrorForStoreError(err, 7)!;
      expect([mapped.httpStatus, mapped.headers['Retry-After']]).to.deep.equal([503, '7']);
    }
    expect(apiErrorForStoreError(new StoreTimeoutError('slow'), 7)?.httpStatus).to.equal(504);
    expect(apiErrorForStoreError(new Error('bug'), 7)).to.equal(undefined);
  });
});

describe('API error catalogue', () => {
  it('renders the reference body shape', () => {
    expect(apiErrors.invalidClientState('stale value').toBody()).to.deep.equal({
      status: 'invalid-client-state',
      errors: [
        { location: 'header', name: 'X-Client-State', description: 'Unacceptable client-state value stale value' },
      ],
    });
    expect(apiErrors.unknownVersion('1.0').toBody()).to.deep.equal({
      status: 'error',
      errors: [{ location: 'url', name: '1.0', description: 'Unsupported application version' }],
    });
  });

  it('has the statuses of reference §1.4', () => {
    const table: Array<[TokenServerError, number, string]> = [
      [apiErrors.unknownApplication(), 404, 'error'],
      [apiErrors.invalidClientStateValue(), 400, 'error'],
      [apiErrors.unauthorized(), 401, 'error'],
      [apiErrors.unsupportedScheme(), 401, 'error'],
      [apiErrors.invalidCredentials(), 401, 'invalid-credentials'],
      [apiErrors.invalidKeysChangedAtClaim(), 401, 'invalid-credentials'],
      [apiErrors.invalidTimestamp(), 401, 'invalid-timestamp'],
      [apiErrors.invalidGeneration(), 401, 'invalid-generation'],
      [apiErrors.invalidKeysChangedAt(), 401, 'invalid-keysChangedAt'],
      [apiErrors.clientStateMismatch(), 401, 'invalid-client-state'],
      [apiErrors.missingKeyId(), 401, 'invalid-key-id'],
      [apiErrors.newUsersDisabled(), 401, 'new-users-disabled'],
      [apiErrors.unavailable(5), 503, 'error'],
      [apiErrors.backendUnavailable(5), 503, 'internal-error'],
      [apiErrors.elapsed(), 504, 'elapsed'],
      [apiErrors.internalError(), 500, 'internal-error'],
    ];
    for (const [error, httpStatus, status] of table)
      expect([error.httpStatus, error.status]).to.deep.equal([httpStatus, status]);
    expect(apiErrors.unsupportedScheme().headers).to.deep.equal({ 'WWW-Authenticate': 'BrowserID' });
    expect(apiErrors.unavailable(5).headers).to.deep.equal({ 'Retry-After': '5' });
  });
});
