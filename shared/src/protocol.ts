// The Powerhose wire format, version 1: the one definition used by client, broker and worker.
//
// Every message is a single frame (ROUTER sockets add the peer's routing id in front of it):
//
//   u8 version | u8 command | payload
//
// Jobs and results travel in batches so that many jobs share one ZeroMQ message:
//
//   job batch    = u16 count, count × (u32 id, f64 deadline_ms, u8 kind_len, kind, u32 body_len, body)
//   result batch = u16 count, count × (u32 id, u8 status, u32 body_len, body)
//
// Client → broker: SUBMIT (job batch), PING.
// Broker → client: RESULT (result batch), PONG (u32 live workers, u32 paused, u32 queued, u32 in flight).
// Worker → broker: READY (u16 credit, u8 n, n × (u8 len, kind), u8 len, name; also "resume"),
//                  HEARTBEAT, DONE (result batch), PAUSE (alive but its job thread is stalled:
//                  skip it until the next READY), DISCONNECT (the worker is leaving: send it nothing more).
// Broker → worker: JOBS (job batch), HEARTBEAT, DISCONNECT (unknown worker: send READY again).
//
// All integers are big-endian. A deadline is milliseconds since the Unix epoch.
import { ProtocolError } from './errors.js';

export const PROTOCOL_VERSION = 1;

export const Command = {
  Submit: 0x01,
  Result: 0x02,
  Ping: 0x03,
  Pong: 0x04,
  Ready: 0x10,
  Heartbeat: 0x11,
  Jobs: 0x12,
  Done: 0x13,
  Disconnect: 0x14,
  Pause: 0x15,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

export const Status = {
  Ok: 0,
  /** The handler threw; the body is its message. */
  Error: 1,
  Expired: 2,
  Busy: 3,
  NoWorker: 4,
  /** Unknown kind or malformed body. */
  BadJob: 5,
  /** Every attempt lost its worker. */
  WorkerLost: 6,
  /** Worker → broker only: this worker could not run it, give it to another. */
  Retry: 7,
} as const;
export type Status = (typeof Status)[keyof typeof Status];

const STATUS_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(Status).map(([name, value]) => [value, name]));

/** A status's name for log lines (`Ok`, `Busy`, …). */
export function statusName(status: Status): string {
  return STATUS_NAMES.get(status) ?? String(status);
}

export const MAX_BATCH = 0xffff;
const MAX_KIND_LENGTH = 0xff;
const HEADER = 2;
const JOB_FIXED = 4 + 8 + 1 + 4;
const RESULT_FIXED = 4 + 1 + 4;

export interface PongInfo {
  /** Registered and not leaving (paused ones included). */
  liveWorkers: number;
  /** Live but skipped until their job thread recovers. */
  pausedWorkers: number;
  queued: number;
  inFlight: number;
}

export interface ReadyInfo {
  credit: number;
  kinds: string[];
  name: string;
}

export type JobVisitor = (id: number, deadline: number, kind: string, body: Buffer) => void;
export type ResultVisitor = (id: number, status: Status, body: Buffer) => void;

const EMPTY = Buffer.alloc(0);
const kindBytes = new Map<string, Buffer>();

function encodeKind(kind: string): Buffer {
  let bytes = kindBytes.get(kind);
  if (!bytes) {
    bytes = Buffer.from(kind, 'utf8');
    if (bytes.length === 0 || bytes.length > MAX_KIND_LENGTH)
      throw new RangeError(`job kind must be 1-255 bytes: ${kind}`);
    if (kindBytes.size < 1024) kindBytes.set(kind, bytes);
  }
  return bytes;
}

/** A batch of jobs being collected for one peer; its arrays are reused between flushes. */
export class JobBatch {
  readonly ids: number[] = [];
  readonly deadlines: number[] = [];
  readonly kinds: Buffer[] = [];
  readonly bodies: Buffer[] = [];
  private size = HEADER + 2;

  get length(): number {
    return this.ids.length;
  }

  push(id: number, deadline: number, kind: string, body: Buffer): void {
    const k = encodeKind(kind);
    this.ids.push(id);
    this.deadlines.push(deadline);
    this.kinds.push(k);
    this.bodies.push(body);
    this.size += JOB_FIXED + k.length + body.length;
  }

  /** Encodes the batch as one frame and empties it. */
  take(command: typeof Command.Submit | typeof Command.Jobs): Buffer {
    const n = this.ids.length;
    const out = Buffer.allocUnsafe(this.size);
    let o = writeHeader(out, command, n);
    for (let i = 0; i < n; i++) {
      const kind = this.kinds[i] as Buffer;
      const body = this.bodies[i] as Buffer;
      out.writeUInt32BE(this.ids[i] as number, o);
      out.writeDoubleBE(this.deadlines[i] as number, o + 4);
      out[o + 12] = kind.length;
      kind.copy(out, o + 13);
      o += 13 + kind.length;
      out.writeUInt32BE(body.length, o);
      body.copy(out, o + 4);
      o += 4 + body.length;
    }
    this.clear();
    return out;
  }

  clear(): void {
    this.ids.length = 0;
    this.deadlines.length = 0;
    this.kinds.length = 0;
    this.bodies.length = 0;
    this.size = HEADER + 2;
  }
}

/** A batch of results being collected for one peer; its arrays are reused between flushes. */
export class ResultBatch {
  readonly ids: number[] = [];
  readonly statuses: Status[] = [];
  readonly bodies: Buffer[] = [];
  private size = HEADER + 2;

  get length(): number {
    return this.ids.length;
  }

  push(id: number, status: Status, body: Buffer = EMPTY): void {
    this.ids.push(id);
    this.statuses.push(status);
    this.bodies.push(body);
    this.size += RESULT_FIXED + body.length;
  }

  take(command: typeof Command.Result | typeof Command.Done): Buffer {
    const n = this.ids.length;
    const out = Buffer.allocUnsafe(this.size);
    let o = writeHeader(out, command, n);
    for (let i = 0; i < n; i++) {
      const body = this.bodies[i] as Buffer;
      out.writeUInt32BE(this.ids[i] as number, o);
      out[o + 4] = this.statuses[i] as number;
      out.writeUInt32BE(body.length, o + 5);
      body.copy(out, o + 9);
      o += RESULT_FIXED + body.length;
    }
    this.clear();
    return out;
  }

  clear(): void {
    this.ids.length = 0;
    this.statuses.length = 0;
    this.bodies.length = 0;
    this.size = HEADER + 2;
  }
}

function writeHeader(out: Buffer, command: Command, count: number): number {
  if (count > MAX_BATCH) throw new RangeError(`batch of ${count} exceeds ${MAX_BATCH}`);
  out[0] = PROTOCOL_VERSION;
  out[1] = command;
  out.writeUInt16BE(count, HEADER);
  return HEADER + 2;
}

/** Reads the command of a frame after checking its version. */
export function readCommand(frame: Buffer | undefined): Command {
  if (!frame || frame.length < HEADER) throw new ProtocolError('frame shorter than its header');
  if (frame[0] !== PROTOCOL_VERSION) throw new ProtocolError(`unsupported protocol version ${frame[0]}`);
  const command = frame[1] as number;
  if (!COMMANDS.has(command)) throw new ProtocolError(`unknown command 0x${command.toString(16)}`);
  return command as Command;
}
const COMMANDS = new Set<number>(Object.values(Command));

/** Calls `visit` for each job of a SUBMIT or JOBS frame; throws ProtocolError before visiting any if malformed. */
export function readJobs(frame: Buffer, visit: JobVisitor): number {
  const count = checkBatch(frame, (o) => {
    if (o + JOB_FIXED > frame.length) return -1;
    const kindLength = frame[o + 12] as number;
    if (kindLength === 0) return -1;
    const bodyAt = o + 13 + kindLength;
    if (bodyAt + 4 > frame.length) return -1;
    return bodyAt + 4 + frame.readUInt32BE(bodyAt);
  });
  let o = HEADER + 2;
  for (let i = 0; i < count; i++) {
    const kindLength = frame[o + 12] as number;
    const kind = frame.toString('latin1', o + 13, o + 13 + kindLength);
    const bodyAt = o + 13 + kindLength;
    const end = bodyAt + 4 + frame.readUInt32BE(bodyAt);
    visit(frame.readUInt32BE(o), frame.readDoubleBE(o + 4), kind, frame.subarray(bodyAt + 4, end));
    o = end;
  }
  return count;
}

/** Calls `visit` for each result of a RESULT or DONE frame; throws ProtocolError before visiting any if malformed. */
export function readResults(frame: Buffer, visit: ResultVisitor): number {
  const count = checkBatch(frame, (o) => {
    if (o + RESULT_FIXED > frame.length) return -1;
    if ((frame[o + 4] as number) > Status.Retry) return -1;
    return o + RESULT_FIXED + frame.readUInt32BE(o + 5);
  });
  let o = HEADER + 2;
  for (let i = 0; i < count; i++) {
    const end = o + RESULT_FIXED + frame.readUInt32BE(o + 5);
    visit(frame.readUInt32BE(o), frame[o + 4] as Status, frame.subarray(o + RESULT_FIXED, end));
    o = end;
  }
  return count;
}

/** Walks the records with `next` (returns the record's end, or -1 if it is broken) and checks the total length. */
function checkBatch(frame: Buffer, next: (offset: number) => number): number {
  if (frame.length < HEADER + 2) throw new ProtocolError('batch frame without a count');
  const count = frame.readUInt16BE(HEADER);
  let o = HEADER + 2;
  for (let i = 0; i < count; i++) {
    const end = next(o);
    if (end < 0 || end > frame.length) throw new ProtocolError(`record ${i} of ${count} overruns the frame`);
    o = end;
  }
  if (o !== frame.length) throw new ProtocolError(`${frame.length - o} trailing bytes after ${count} records`);
  return count;
}

/** A frame with no payload: PING, HEARTBEAT, DISCONNECT. */
export function encodeControl(command: Command): Buffer {
  const out = Buffer.allocUnsafe(HEADER);
  out[0] = PROTOCOL_VERSION;
  out[1] = command;
  return out;
}

export function encodeReady(info: ReadyInfo): Buffer {
  if (info.kinds.length === 0 || info.kinds.length > 255) throw new RangeError('a worker serves 1-255 kinds');
  const kinds = info.kinds.map(encodeKind);
  const name = Buffer.from(info.name.slice(0, 255), 'utf8').subarray(0, 255);
  const size = HEADER + 2 + 1 + kinds.reduce((s, k) => s + 1 + k.length, 0) + 1 + name.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = PROTOCOL_VERSION;
  out[1] = Command.Ready;
  out.writeUInt16BE(info.credit, HEADER);
  let o = HEADER + 2;
  out[o++] = kinds.length;
  for (const k of kinds) {
    out[o++] = k.length;
    o += k.copy(out, o);
  }
  out[o++] = name.length;
  name.copy(out, o);
  return out;
}

export function decodeReady(frame: Buffer): ReadyInfo {
  const fail = (): never => {
    throw new ProtocolError('malformed READY');
  };
  if (frame.length < HEADER + 4) fail();
  const credit = frame.readUInt16BE(HEADER);
  if (credit === 0) fail();
  let o = HEADER + 2;
  const n = frame[o++] as number;
  if (n === 0) fail();
  const kinds: string[] = [];
  for (let i = 0; i < n; i++) {
    const len = frame[o++];
    if (!len || o + len > frame.length) fail();
    kinds.push(frame.toString('latin1', o, o + (len as number)));
    o += len as number;
  }
  const nameLength = frame[o++];
  if (nameLength === undefined || o + nameLength !== frame.length) fail();
  return { credit, kinds, name: frame.toString('utf8', o, frame.length) };
}

export function encodePong(info: PongInfo): Buffer {
  const out = Buffer.allocUnsafe(HEADER + 16);
  out[0] = PROTOCOL_VERSION;
  out[1] = Command.Pong;
  out.writeUInt32BE(info.liveWorkers, HEADER);
  out.writeUInt32BE(info.pausedWorkers, HEADER + 4);
  out.writeUInt32BE(info.queued, HEADER + 8);
  out.writeUInt32BE(info.inFlight, HEADER + 12);
  return out;
}

export function decodePong(frame: Buffer): PongInfo {
  if (frame.length !== HEADER + 16) throw new ProtocolError('malformed PONG');
  return {
    liveWorkers: frame.readUInt32BE(HEADER),
    pausedWorkers: frame.readUInt32BE(HEADER + 4),
    queued: frame.readUInt32BE(HEADER + 8),
    inFlight: frame.readUInt32BE(HEADER + 12),
  };
}
