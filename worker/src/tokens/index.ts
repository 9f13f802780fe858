export * from './secrets-source.js';
export * from './sign.js';
