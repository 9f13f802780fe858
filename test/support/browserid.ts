// The BrowserID signer lives with the load-test tool, which signs assertions at run time.
export * from '../../loadtest/browserid-signer.js';
