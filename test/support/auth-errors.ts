import { expect } from 'chai';
import { AuthError } from '../../worker/src/auth/errors.js';

/** Awaits a promise that must reject with an AuthError, and returns that error. */
export async function authRejection(promise: Promise<unknown>): Promise<AuthError> {
  try {
    await promise;
  } catch (err) {
    expect(err).to.be.instanceOf(AuthError);
    return err as AuthError;
  }
  throw new Error('expected a rejection');
}
