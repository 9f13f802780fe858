import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort } from './powerhose.js';
import { eventually, RunningProcess, runToExit } from './processes.js';

// A MariaDB server of a test's own: a fresh datadir in a temp directory, an ephemeral port on 127.0.0.1 and its own
// socket, so that a test may kill it and start it again. The machine's shared server (3306) is never touched.

const SERVER_NAMES = ['mariadbd', 'mysqld'];
const INSTALL_NAMES = ['mariadb-install-db', 'mysql_install_db'];
const STARTUP_LIMIT_MS = 30_000;

export class PrivateMariaDb {
  private server: RunningProcess | undefined;

  private constructor(
    private readonly serverPath: string,
    private readonly dir: string,
    readonly port: number,
  ) {}

  /** Why no private server can be started here, or undefined when one can. */
  static unavailable(): string | undefined {
    return findExecutable(SERVER_NAMES) && findExecutable(INSTALL_NAMES)
      ? undefined
      : 'mariadbd or mariadb-install-db is not installed';
  }

  /** Initialises a datadir and starts the server on it. */
  static async create(): Promise<PrivateMariaDb> {
    const serverPath = findExecutable(SERVER_NAMES);
    const installPath = findExecutable(INSTALL_NAMES);
    if (!serverPath || !installPath) throw new Error(PrivateMariaDb.unavailable());
    const dir = mkdtempSync(join(tmpdir(), 'tokenserver-mariadb-'));
    const install = await runToExit(installPath, [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      ...asRoot(),
    ]);
    if (install.code !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mariadb-install-db failed:\n${install.stdout}${install.stderr}`);
    }
    const db = new PrivateMariaDb(serverPath, dir, await freePort());
    await db.start();
    return db;
  }

  /** `mysql://root@127.0.0.1:<port>/<database>`. */
  url(database = ''): string {
    return `mysql://root@127.0.0.1:${this.port}/${database}`;
  }

  /** Starts the server on the datadir (again, after `kill`); resolves once it accepts connections. */
  async start(): Promise<void> {
    this.server = new RunningProcess(
      this.serverPath,
      [
        '--no-defaults',
        `--datadir=${join(this.dir, 'data')}`,
        `--socket=${join(this.dir, 'mysqld.sock')}`,
        `--pid-file=${join(this.dir, 'mysqld.pid')}`,
        `--port=${this.port}`,
        '--bind-address=127.0.0.1',
        '--skip-name-resolve',
        '--innodb-buffer-pool-size=32M',
        ...asRoot(),
      ],
      {},
    );
    await eventually(() => this.accepting(), STARTUP_LIMIT_MS).catch(() => {
      throw new Error(`mariadbd did not start:\n${this.server?.stderr}`);
    });
  }

  /** Kills the server (SIGKILL: a crash, recovered from the logs on the next start) and waits for its exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.server?.stop(signal);
  }

  async query(sql: string): Promise<void> {
    const conn = await mysql.createConnection({ uri: this.url() });
    try {
      await conn.query(sql);
    } finally {
      await conn.end();
    }
  }

  /** Stops the server and deletes its datadir. */
  async destroy(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async accepting(): Promise<boolean> {
    if (this.server && !this.server.running) throw new Error(`mariadbd exited:\n${this.server.stderr}`);
    return this.query('SELECT 1').then(
      () => true,
      () => false,
    );
  }
}

/** mariadbd refuses to run as root unless told to. */
function asRoot(): string[] {
  return process.getuid?.() === 0 ? ['--user=root'] : [];
}

function findExecutable(names: readonly string[]): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}
