import { Dealer } from 'zeromq';
import type { CurveClientOptions } from './curve.js';

export interface BrokerPeerSocketOptions {
  heartbeatIntervalMs: number;
  heartbeatLiveness: number;
  maxMessageBytes: number;
  curve?: CurveClientOptions;
}

/**
 * The DEALER a web front or a worker talks to the broker with. Sends never wait: with no connection
 * (`immediate`) or a full pipe they fail at once (`sendTimeout: 0`) and the caller decides; ZMTP
 * heartbeats drop a dead TCP peer; reconnection backs off to 1 s.
 */
export function createBrokerPeerSocket(options: BrokerPeerSocketOptions): Dealer {
  return new Dealer({
    linger: 0,
    immediate: true,
    sendTimeout: 0,
    sendHighWaterMark: 10000,
    receiveHighWaterMark: 10000,
    maxMessageSize: options.maxMessageBytes,
    reconnectInterval: 100,
    reconnectMaxInterval: 1000,
    heartbeatInterval: options.heartbeatIntervalMs,
    heartbeatTimeout: options.heartbeatIntervalMs * options.heartbeatLiveness,
    ...options.curve,
  });
}
