import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { BrowserContext } from 'playwright-core';
import { type Database, withAdvisoryLock } from '../db/client.ts';
import { vrSessions } from '../db/schema.ts';
import { NeedsPersonError } from './errors.ts';

/** Playwright's storage state: cookies (cf_clearance included) and each origin's localStorage. */
export type StorageState = Awaited<ReturnType<BrowserContext['storageState']>>;

export type SessionSource = 'login' | 'challenge' | 'import';

export interface StoredSession {
  state: StorageState;
  userAgent: string;
  generation: number;
  source: SessionSource;
  updatedAt: Date;
}

/**
 * The stored session can't be used: VR_SESSION_KEY is missing, isn't the one it was written with, or
 * is set while the row is plaintext (written by a process without a key, or by someone else).
 */
export class SessionKeyError extends NeedsPersonError {
  override name = 'SessionKeyError';
  readonly state = 'session_key';
}

// Every V&R login in every process waits for this one: one login for the run, not one per process.
const LOGIN_LOCK = 727_276;
const FORMAT = 'v1';

/** AES-256-GCM with a key stretched from VR_SESSION_KEY; the account is bound in as associated data. */
export class SessionCipher {
  readonly #key: Buffer;

  constructor(passphrase: string) {
    // A fixed salt is enough: the key is one secret per install, not a password database.
    this.#key = scryptSync(passphrase, 'vr-lister/vr_sessions', 32);
  }

  encrypt(plain: string, account: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(account));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${FORMAT}.${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  decrypt(text: string, account: string): string {
    const [format, data] = text.split('.', 2);
    if (format !== FORMAT || !data)
      throw new SessionKeyError('the stored V&R session is in an unknown format');
    const bytes = Buffer.from(data, 'base64');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(account));
      decipher.setAuthTag(bytes.subarray(12, 28));
      return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new SessionKeyError(
        'VR_SESSION_KEY does not decrypt the stored V&R session: set the key it was stored with, or run `vr-lister login` again',
      );
    }
  }
}

/**
 * The one V&R browser session every worker on every machine starts from: a row of `vr_sessions`
 * per account. Never logged: nothing here puts the state in an error message.
 */
export class SessionStore {
  readonly #cipher: SessionCipher | undefined;

  constructor(
    private readonly database: Pick<Database, 'db' | 'url'>,
    readonly account: string,
    sessionKey: string | undefined,
  ) {
    this.#cipher = sessionKey ? new SessionCipher(sessionKey) : undefined;
  }

  get encrypts(): boolean {
    return this.#cipher !== undefined;
  }

  /** The row's generation, 0 when nothing is stored: cheap enough to poll. */
  async generation(): Promise<number> {
    const [row] = await this.database.db
      .select({ generation: vrSessions.generation })
      .from(vrSessions)
      .where(eq(vrSessions.account, this.account));
    return row?.generation ?? 0;
  }

  async load(): Promise<StoredSession | undefined> {
    const [row] = await this.database.db
      .select()
      .from(vrSessions)
      .where(eq(vrSessions.account, this.account));
    if (!row) return undefined;
    let text = row.state;
    if (row.encrypted) {
      if (!this.#cipher) {
        throw new SessionKeyError(
          'the stored V&R session is encrypted and VR_SESSION_KEY is not set: set it, or run `vr-lister login` again',
        );
      }
      text = this.#cipher.decrypt(row.state, this.account);
    } else if (this.#cipher) {
      throw new SessionKeyError(
        'the stored V&R session is not encrypted but VR_SESSION_KEY is set: run `vr-lister login` (or `vr-lister session import`) to store it encrypted',
      );
    }
    return {
      state: JSON.parse(text) as StorageState,
      userAgent: row.userAgent,
      generation: row.generation,
      source: row.source as SessionSource,
      updatedAt: row.updatedAt,
    };
  }

  /**
   * Writes the session and bumps the generation; returns the new generation. With `onlyOver`, only
   * if the stored generation is still that one (0: none stored), else writes nothing and returns
   * undefined: a session another process stored meanwhile (a login) is never overwritten by one
   * that knew nothing of it.
   */
  async save(state: StorageState, userAgent: string, source: SessionSource): Promise<number>;
  async save(
    state: StorageState,
    userAgent: string,
    source: SessionSource,
    options: { onlyOver: number },
  ): Promise<number | undefined>;
  async save(
    state: StorageState,
    userAgent: string,
    source: SessionSource,
    { onlyOver }: { onlyOver?: number } = {},
  ): Promise<number | undefined> {
    const plain = JSON.stringify(state);
    const stored = this.#cipher ? this.#cipher.encrypt(plain, this.account) : plain;
    const now = new Date();
    const [row] = await this.database.db
      .insert(vrSessions)
      .values({
        account: this.account,
        state: stored,
        encrypted: this.#cipher !== undefined,
        userAgent,
        source,
        generation: 1,
        updatedAt: now,
      })
      .onConflictDoUpdate({
        target: vrSessions.account,
        set: {
          state: stored,
          encrypted: this.#cipher !== undefined,
          userAgent,
          source,
          generation: sql`${vrSessions.generation} + 1`,
          updatedAt: now,
        },
        setWhere: onlyOver === undefined ? undefined : eq(vrSessions.generation, onlyOver),
      })
      .returning({ generation: vrSessions.generation });
    return row?.generation;
  }

  /** Runs `fn` holding the login lock shared by every process on this database. */
  withLoginLock<T>(fn: () => Promise<T>): Promise<T> {
    return withAdvisoryLock(this.database.url, LOGIN_LOCK, fn);
  }
}

/** How often a waiting process looks for a newly stored session. */
export const SESSION_POLL_MS = 2_000;

/**
 * Calls `onChange` when the stored session's generation moves (another process logged in, or a
 * person ran `vr-lister login` or `session import`): what waits for a person goes on within seconds.
 */
export function watchStoredSession(
  store: SessionStore,
  {
    intervalMs = SESSION_POLL_MS,
    onChange,
    onError,
  }: { intervalMs?: number; onChange: (generation: number) => void; onError?: (error: unknown) => void },
): { stop(): void } {
  let last: number | undefined;
  let busy = false;
  const poll = () => {
    if (busy) return;
    busy = true;
    store
      .generation()
      .then(
        (generation) => {
          if (last !== undefined && generation > last) onChange(generation);
          last = generation;
          // A database outage must not end the process: the workers report it through their own checks.
        },
        (error) => onError?.(error),
      )
      .finally(() => {
        busy = false;
      });
  };
  // The baseline now, not one interval later: a session stored in between would become the
  // baseline and never count as a change (a worker held at start would wait for another).
  poll();
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
