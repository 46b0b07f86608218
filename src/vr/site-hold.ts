import { LOG_EVENT } from '../log-events.ts';
import type { Logger } from '../logger.ts';
import { type NeedsPersonError, VrBlockedError, VrLoginError } from './errors.ts';
import type { SiteState } from './site-state.ts';

/** While blocked, how often a worker looks at the site again by itself (a new stored session is seen at once). */
export const BLOCKED_RECHECK_MS = 60_000;

export interface SiteStateChange {
  state: SiteState;
  detail: string;
}

interface Held {
  /** The stored session's generation when it happened: a newer one is a reason to try again. */
  generation: number;
  at: number;
  detail: string;
}

/**
 * V&R's state as this process sees it: blocked by Cloudflare, the login refused, or something only
 * a person can end (the key, the sandbox). Each is said once, loudly, and reported on change; a
 * good login ends them all.
 */
export class SiteHold {
  #blocked: Held | undefined;
  #refused: Held | undefined;
  #reported: SiteState | undefined;
  /** What stopped this session until a person acts (the key, the sandbox); cleared by a good login. */
  #personNeeded: NeedsPersonError | undefined;

  constructor(
    private readonly logger: Logger,
    private readonly onSiteState: ((change: SiteStateChange) => void) | undefined,
  ) {}

  get state(): SiteState {
    if (this.#personNeeded) return this.#personNeeded.state;
    if (this.#refused) return 'login_refused';
    if (this.#blocked) return 'blocked';
    return 'ok';
  }

  /** Holds V&R as blocked (said once) and throws VrBlockedError. */
  block(detail: string, generation: number): never {
    const first = !this.#blocked;
    this.#blocked = { generation, at: Date.now(), detail };
    if (first) this.logger.error({ event: LOG_EVENT.blocked }, detail);
    this.#report('blocked', detail);
    throw new VrBlockedError(detail);
  }

  /** Holds the login as refused (said once, `evidence` kept once) and throws VrLoginError. */
  async refuse(detail: string, generation: number, evidence: () => Promise<void>): Promise<never> {
    const first = !this.#refused;
    this.#refused = { generation, at: Date.now(), detail };
    if (first) {
      this.logger.error({ event: LOG_EVENT.loginRefused }, detail);
      // evidence is best effort: the refusal is said and held either way
      await evidence().catch(() => {});
    }
    this.#report('login_refused', detail);
    throw new VrLoginError(detail);
  }

  /** A state only a person can end: said once, loudly, and reported; returned to be thrown. */
  needPerson<E extends NeedsPersonError>(error: E): E {
    if (this.#reported !== error.state)
      this.logger.error({ event: LOG_EVENT.personNeeded, state: error.state }, error.message);
    this.#personNeeded = error;
    this.#report(error.state, error.message);
    return error;
  }

  /** Logged in: whatever was held is over. */
  markOk(): void {
    if (this.#blocked || this.#refused) this.logger.info('V&R session is good again');
    this.#blocked = undefined;
    this.#refused = undefined;
    this.#personNeeded = undefined;
    this.#report('ok', 'logged in');
  }

  /**
   * Blocked or refused before: fail fast, unless a new session was stored since (`storedGeneration`
   * is asked only then) or it is time to look again.
   */
  async check(storedGeneration: () => Promise<number>): Promise<void> {
    const held = this.#refused ?? this.#blocked;
    if (!held) return;
    if ((await storedGeneration()) > held.generation) {
      this.#refused = undefined;
      this.#blocked = undefined;
      return;
    }
    if (this.#refused) throw new VrLoginError(this.#refused.detail);
    if (Date.now() - held.at < BLOCKED_RECHECK_MS) throw new VrBlockedError(held.detail);
  }

  #report(state: SiteState, detail: string): void {
    if (this.#reported === state) return;
    this.#reported = state;
    this.onSiteState?.({ state, detail });
  }
}
