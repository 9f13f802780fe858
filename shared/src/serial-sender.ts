import type { Writable } from 'zeromq';

type Socket = Writable & { readonly closed: boolean };

export type Message = Buffer | Buffer[];
export type SendFailure = (message: Message, error: Error) => void;

/**
 * zeromq.js allows one pending send per socket; this keeps a FIFO in front of it so that
 * callers never await. A message that cannot be queued (EAGAIN, EHOSTUNREACH) goes to `onFailure`.
 */
export class SerialSender {
  private queue: Message[] = [];
  private draining = false;

  constructor(
    private readonly socket: Socket,
    private readonly onFailure: SendFailure,
  ) {}

  get pending(): number {
    return this.queue.length;
  }

  send(message: Message): void {
    this.queue.push(message);
    if (!this.draining) void this.drain();
  }

  private async drain(): Promise<void> {
    this.draining = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      for (const message of batch) {
        try {
          await this.socket.send(message);
        } catch (err) {
          if (this.socket.closed) {
            this.queue.length = 0;
            break;
          }
          this.onFailure(message, err as Error);
        }
      }
    }
    this.draining = false;
  }
}
