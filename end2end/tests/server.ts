// Helpers to run a real Vigil server for the end-to-end tests.
//
// Each spec file starts its own server (fresh data dir, free port) through
// `useVigilServer()`, which registers beforeAll/afterEach/afterAll hooks.
// The server's stdout/stderr are kept in memory and attached to the report
// (and printed) when a test fails.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { test, type TestInfo } from '@playwright/test';

/** Directory holding package.json / playwright.config.ts. */
export const END2END_DIR = path.resolve(__dirname, '..');
/** Repository root; the server is started from here. */
export const REPO_ROOT = path.resolve(END2END_DIR, '..');

const HEALTH_POLL_INTERVAL_MS = 100;
const HEALTH_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
/** How long start() keeps retrying when the port is still held by the previous process. */
const ADDR_IN_USE_RETRY_MS = 10_000;
const MAX_LOG_LINES = 5_000;

/** Path of the server binary: $VIGIL_BIN, or ../target/release/vigil. Relative paths are taken from end2end/. */
export function vigilBinary(): string {
  return path.resolve(END2END_DIR, process.env.VIGIL_BIN || '../target/release/vigil');
}

/** Asks the kernel for a free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      if (address === null || typeof address === 'string') {
        srv.close();
        reject(new Error(`unexpected listen address: ${String(address)}`));
        return;
      }
      const { port } = address;
      srv.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One GET with a short timeout and no connection reuse. Resolves to the status code. */
function getStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

export interface StopResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the process ignored SIGTERM for STOP_GRACE_MS and had to be killed. */
  killed: boolean;
}

export class VigilServer {
  readonly port: number;
  readonly dataDir: string;
  readonly binary: string;

  private child: ChildProcess | null = null;
  private exited: Promise<StopResult> | null = null;
  private readonly logLines: string[] = [];
  private droppedLines = 0;
  private readonly t0 = Date.now();

  /**
   * Bound to every address (0.0.0.0) instead of loopback, so Vigil asks for
   * accounts; tests still reach it on 127.0.0.1.
   */
  private exposed = false;

  /** `--config` file, when the server was launched with one. */
  private configPath: string | null = null;

  private constructor(port: number, dataDir: string, binary: string) {
    this.port = port;
    this.dataDir = dataDir;
    this.binary = binary;
  }

  /**
   * Picks a free port and a fresh data dir, then starts the server and waits for /healthz.
   * With `config`, the server runs with that TOML as its `--config` file (kept in the data dir).
   */
  static async launch(config?: string, { exposed = false }: { exposed?: boolean } = {}): Promise<VigilServer> {
    const binary = vigilBinary();
    if (!existsSync(binary)) {
      throw new Error(
        `Vigil server binary not found at ${binary}. Build it first (release build), ` +
          `or point VIGIL_BIN at it (relative paths are resolved from end2end/).`,
      );
    }
    const port = await freePort();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'vigil-e2e-'));
    const server = new VigilServer(port, dataDir, binary);
    server.exposed = exposed;
    if (config !== undefined) {
      server.configPath = path.join(dataDir, 'vigil.toml');
      writeFileSync(server.configPath, config);
    }
    try {
      await server.start();
    } catch (err) {
      await server.dispose();
      throw err;
    }
    return server;
  }

  /** Base URL without a trailing slash, e.g. http://127.0.0.1:41234 */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== null;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the server (again) on the same port and data dir, and waits until /healthz answers. */
  async start(): Promise<void> {
    if (this.child) throw new Error('Vigil server is already running');
    const retryUntil = Date.now() + ADDR_IN_USE_RETRY_MS;
    for (;;) {
      const outcome = await this.spawnAndWait();
      if (outcome === 'ready') return;
      // The process exited before becoming healthy.
      if (this.looksLikeAddrInUse() && Date.now() < retryUntil) {
        this.note('port still in use; retrying shortly');
        await sleep(250);
        continue;
      }
      throw new Error(`Vigil server exited before becoming healthy (${outcome}).\n${this.tail(100)}`);
    }
  }

  /** SIGTERM, wait for exit, SIGKILL after 10 s. No-op when not running. */
  async stop(): Promise<StopResult> {
    const child = this.child;
    const exited = this.exited;
    if (!child || !exited) return { code: null, signal: null, killed: false };
    this.note(`stopping pid ${child.pid} (SIGTERM)`);
    child.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      this.note(`pid ${child.pid} still running after ${STOP_GRACE_MS} ms; sending SIGKILL`);
      child.kill('SIGKILL');
    }, STOP_GRACE_MS);
    try {
      const result = await exited;
      return { ...result, killed };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops the server and removes its data dir. */
  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** Adds a marker line to the server log (shown on failure), e.g. what the test is doing. */
  note(message: string): void {
    this.push(`[${this.elapsed()} test] ${message}`);
  }

  /** Whole captured log. */
  log(): string {
    const head = this.droppedLines > 0 ? [`... ${this.droppedLines} earlier lines dropped ...`] : [];
    return [...head, ...this.logLines].join('\n');
  }

  /** Last `n` lines of the captured log. */
  tail(n: number): string {
    return `--- vigil server log (last ${n} lines) ---\n${this.logLines.slice(-n).join('\n')}\n--- end of log ---`;
  }

  private async spawnAndWait(): Promise<'ready' | string> {
    const host = this.exposed ? '0.0.0.0' : '127.0.0.1';
    const args = ['--bind', `${host}:${this.port}`, '--data-dir', this.dataDir];
    if (this.configPath) args.push('--config', this.configPath);
    this.note(`starting ${this.binary} ${args.join(' ')} (cwd ${REPO_ROOT})`);
    const child = spawn(this.binary, args, {
      cwd: REPO_ROOT,
      env: { RUST_BACKTRACE: '1', ...process.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.capture(child.stdout, 'stdout');
    this.capture(child.stderr, 'stderr');

    const exit: { description: string | null } = { description: null };
    this.exited = new Promise<StopResult>((resolve) => {
      let settled = false;
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return;
        settled = true;
        exit.description = signal ? `signal ${signal}` : `exit code ${code}`;
        this.note(`pid ${child.pid} exited with ${exit.description}`);
        if (this.child === child) {
          this.child = null;
          this.exited = null;
        }
        resolve({ code, signal, killed: false });
      };
      // 'close' comes after the output pipes are drained, so the log is complete.
      // Fall back to 'exit' in case something else keeps the pipes open.
      child.once('close', done);
      child.once('exit', (code, signal) => {
        setTimeout(() => done(code, signal), 2_000).unref();
      });
      child.once('error', (err) => {
        this.note(`failed to run server: ${err.message}`);
        done(null, null);
      });
    });
    const exited = this.exited;

    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let lastError = 'no attempt yet';
    while (Date.now() < deadline) {
      if (exit.description !== null) return exit.description;
      try {
        const status = await getStatus(`${this.url}/healthz`, 2_000);
        // Any HTTP answer means the server is up; the API tests check the status code itself.
        this.note(`healthz answered ${status}`);
        return 'ready';
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      await Promise.race([sleep(HEALTH_POLL_INTERVAL_MS), exited]);
    }
    if (exit.description !== null) return exit.description;
    this.note(`no answer from /healthz within ${HEALTH_TIMEOUT_MS} ms (last error: ${lastError})`);
    await this.stop();
    throw new Error(
      `Vigil server did not answer GET /healthz within ${HEALTH_TIMEOUT_MS / 1000} s ` +
        `(last error: ${lastError}).\n${this.tail(100)}`,
    );
  }

  private looksLikeAddrInUse(): boolean {
    return this.logLines.slice(-20).some((line) => /address already in use|AddrInUse|EADDRINUSE/i.test(line));
  }

  private capture(stream: NodeJS.ReadableStream | null, name: string): void {
    if (!stream) return;
    stream.setEncoding('utf8');
    let partial = '';
    stream.on('data', (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n/);
      partial = lines.pop() ?? '';
      for (const line of lines) this.push(`[${this.elapsed()} ${name}] ${line}`);
    });
    stream.on('end', () => {
      if (partial) this.push(`[${this.elapsed()} ${name}] ${partial}`);
      partial = '';
    });
  }

  private push(line: string): void {
    this.logLines.push(line);
    if (this.logLines.length > MAX_LOG_LINES) {
      this.logLines.shift();
      this.droppedLines += 1;
    }
  }

  private elapsed(): string {
    return `+${((Date.now() - this.t0) / 1000).toFixed(3)}s`;
  }
}

// Make sure no server outlives the test worker, even if it is torn down abruptly.
const liveServers = new Set<VigilServer>();
process.once('exit', () => {
  for (const server of liveServers) {
    const pid = server.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

/**
 * Starts one Vigil server for the current spec file.
 *
 * Call at the top level of a spec (or inside a describe). Returns a getter for
 * the running server. On a failed test the server log is attached to the
 * report as `vigil-server.log` and printed to stderr.
 *
 * `config` gives the server a config file; it runs in beforeAll, after the
 * spec's own beforeAll hooks declared before this call (so it can name the
 * ports of targets those started).
 */
export function useVigilServer(
  config?: () => string | Promise<string>,
  options: { exposed?: boolean } = {},
): () => VigilServer {
  let server: VigilServer | undefined;

  test.beforeAll(async ({}, testInfo) => {
    testInfo.setTimeout(testInfo.timeout + HEALTH_TIMEOUT_MS + ADDR_IN_USE_RETRY_MS);
    server = await VigilServer.launch(config ? await config() : undefined, options);
    liveServers.add(server);
  });

  test.beforeEach(async ({}, testInfo) => {
    server?.note(`--- test start: ${testInfo.titlePath.slice(1).join(' > ')}`);
  });

  test.afterEach(async ({}, testInfo) => {
    if (!server) return;
    server.note(`--- test end: ${testInfo.status}`);
    await attachLogOnFailure(server, testInfo);
  });

  test.afterAll(async ({}, testInfo) => {
    testInfo.setTimeout(testInfo.timeout + STOP_GRACE_MS * 2);
    if (!server) return;
    liveServers.delete(server);
    await server.dispose();
  });

  return () => {
    if (!server) throw new Error('Vigil server is not started (useVigilServer hooks did not run)');
    return server;
  };
}

async function attachLogOnFailure(server: VigilServer, testInfo: TestInfo): Promise<void> {
  if (testInfo.status === testInfo.expectedStatus) return;
  const log = server.log();
  await testInfo.attach('vigil-server.log', { body: log, contentType: 'text/plain' });
  console.error(`\n===== vigil server log for "${testInfo.title}" (${server.url}) =====\n${log}\n===== end of server log =====\n`);
}
