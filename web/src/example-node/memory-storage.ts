// The example node's data: one record per (uid, key), kept in memory.

export interface StoredRecord {
  body: Buffer;
  contentType: string;
  /** Unix seconds with two decimals, as Sync timestamps are. */
  modified: number;
}

export class MemoryStorage {
  private readonly users = new Map<number, Map<string, StoredRecord>>();

  get(uid: number, key: string): StoredRecord | undefined {
    return this.users.get(uid)?.get(key);
  }

  put(uid: number, key: string, record: StoredRecord): void {
    let records = this.users.get(uid);
    if (!records) {
      records = new Map();
      this.users.set(uid, records);
    }
    records.set(key, record);
  }

  /** Deletes everything of the user; false when there was nothing. */
  deleteUser(uid: number): boolean {
    return this.users.delete(uid);
  }

  /** The newest modification time of the user's records, if any. */
  lastModified(uid: number): number | undefined {
    const records = this.users.get(uid);
    if (!records) return undefined;
    let newest = 0;
    for (const record of records.values()) newest = Math.max(newest, record.modified);
    return newest;
  }
}
