import { type StackOverrides, TestStack } from './stack.js';

/**
 * A TestStack for the enclosing `describe`: started (trusting the issuer `idp.test`) before its tests, stopped
 * after them. Call the returned function inside a test to get it.
 */
export function stackForSuite(overrides: StackOverrides = {}): () => TestStack {
  let stack: TestStack | undefined;
  before(async () => {
    stack = await TestStack.start(overrides);
    stack.trustIssuer('idp.test');
  });
  after(() => stack?.stop());
  return () => {
    if (!stack) throw new Error('the suite stack has not started');
    return stack;
  };
}
