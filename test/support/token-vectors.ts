// The full tokenlib reference token (tokenserver.md §2.2, auth-loadtest.md §3.2): its secret, payload and the
// Hawk key derived from it. Shared by the token-format and Hawk tests.
export const TOKENLIB_VECTOR = {
  secret: 'SECRET',
  payload: {
    uid: 42,
    node: 'https://node.example.com',
    expires: 2000000000,
    fxa_uid: '0123456789abcdef0123456789abcdef',
    fxa_kid: '0000001234567-qqqqqqqqqqqqqqqqqqqqqg',
    hashed_fxa_uid: 'h',
    hashed_device_id: 'd',
    salt: 'a1b2c3',
  },
  key: 'Bdvfynd6mNxjGdfKSvVcTxFinJCplnsXb7zPvb4GkJE=',
};
