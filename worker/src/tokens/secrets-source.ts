// Moved to shared so that service nodes load the same secrets as the workers.
export * from '@tokenserver/shared/token-secrets-source';
