import { BlockList, isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import {
  type ListingDefaults,
  SHIPPING_REGIONS,
  type ShippingFees,
  type ShippingRegion,
} from './listing/listing.ts';
import { resolveCategory, shippedCategoryTree } from './vr/categories.ts';

/** Thrown for bad configuration; the message names every bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const int = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const url = (protocols: string[]) =>
  z
    .string()
    .trim()
    .refine(
      (value) => {
        try {
          return protocols.includes(new URL(value).protocol);
        } catch {
          return false;
        }
      },
      `must be a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`,
    );

const onOff = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['on', 'off', 'true', 'false', '1', '0'].includes(v), 'must be on or off')
  .transform((v) => v === 'on' || v === 'true' || v === '1');

const HOUR = 3_600_000;

/** Debian's and Ubuntu's full Chromium; the Dockerfile installs it there too. */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

/** `uk=75,europe=50,usa=100,world=150`: a whole fee per region, each region once. */
export function parseShippingFees(value: string): ShippingFees {
  const fees: ShippingFees = {};
  for (const part of value.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,7})\s*$/i.exec(part);
    const region = m?.[1]?.toLowerCase() as ShippingRegion | undefined;
    if (!m || !region || !SHIPPING_REGIONS.includes(region)) {
      throw new Error(
        `must be region=fee pairs separated by commas, regions ${SHIPPING_REGIONS.join(', ')} (e.g. uk=75,europe=50,usa=100,world=150); got "${part.trim()}"`,
      );
    }
    if (fees[region] !== undefined) throw new Error(`names ${region} twice`);
    fees[region] = Number(m[2]);
  }
  return fees;
}

const shippingFees = z.string().transform((value, ctx) => {
  try {
    return parseShippingFees(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

/** One entry of a host list such as IMAGE_ALLOW_HOSTS: a host name or an IP address, and maybe a port. */
export interface AllowedHost {
  /** Lower-case host name without a trailing dot, or an IP address in ipaddr.js' canonical form. */
  host: string;
  isIp: boolean;
  /** Absent: any port. */
  port?: number;
}

/** The canonical form of a URL's host name, for comparing with an AllowedHost. */
export function canonicalHost(hostname: string): { host: string; isIp: boolean } {
  const bare = hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare))
    ? { host: ipaddr.process(bare).toString(), isIp: true }
    : { host: bare, isIp: false };
}

/**
 * Parses a comma-separated list of host names or IP addresses, each optionally with `:port`
 * (`images.internal, 10.0.0.5:8080, [fd00::1]:443`). Host names are read as a URL would read them,
 * so `2130706433` is 127.0.0.1. Throws an Error naming the bad entry.
 */
export function parseHostList(value: string): AllowedHost[] {
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const match =
        /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(entry) ??
        (ipaddr.IPv6.isValid(entry) ? [entry, entry] : null) ??
        /^([^\s:/@[\]?#]+)(?::(\d{1,5}))?$/.exec(entry);
      const bad = (why: string) => new Error(`"${entry}" ${why}`);
      if (!match) throw bad('is not a host name or IP address with an optional :port');
      const [, rawHost = '', rawPort] = match;
      const port = rawPort === undefined ? undefined : Number(rawPort);
      if (port !== undefined && (port < 1 || port > 65535)) throw bad('has a port outside 1-65535');
      let hostname: string;
      try {
        hostname = new URL(`http://${rawHost.includes(':') ? `[${rawHost}]` : rawHost}/`).hostname;
      } catch {
        throw bad('is not a valid host name or IP address');
      }
      const canonical = canonicalHost(hostname);
      return port === undefined ? canonical : { ...canonical, port };
    });
}

const hostList = z.string().transform((value, ctx) => {
  try {
    return parseHostList(value);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      message: `${(error as Error).message}; expected comma-separated host names or IP addresses, each optionally with :port`,
    });
    return z.NEVER;
  }
});

/** WEBHOOK_URL: one or more http(s) URLs, comma-separated, without credentials (the signature authenticates). */
const urlList = z.string().transform((value, ctx) => {
  const urls = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  for (const entry of urls) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(entry);
    } catch {}
    const problem = !parsed
      ? 'is not a URL'
      : parsed.protocol !== 'http:' && parsed.protocol !== 'https:'
        ? 'must start with http:// or https://'
        : parsed.username || parsed.password
          ? 'must not carry credentials (the receiver checks the signature instead)'
          : undefined;
    if (problem) {
      ctx.addIssue({
        code: 'custom',
        message: `${parsed ? `${parsed.protocol}//${parsed.host}…` : `"${entry}"`} ${problem}`,
      });
      return z.NEVER;
    }
  }
  return [...new Set(urls)];
});

/** A leaf of the shipped category tree, in the tree's spelling. */
const leafCategory = z.string().transform((value, ctx) => {
  const resolved = resolveCategory(shippedCategoryTree(), value);
  if (resolved.ok) return resolved.path;
  ctx.addIssue({ code: 'custom', message: resolved.message });
  return z.NEVER;
});

/**
 * Every setting, keyed by its environment variable. Defaults point at local services.
 * VR_BASE_URL has no default on purpose: unset means "use the built-in simulator" for
 * `vr-lister start`, and is an error for the workers (see requireVrSite).
 */
const envSchema = z.object({
  DATABASE_URL: url(['postgres:', 'postgresql:']).default('postgres://postgres@127.0.0.1:5432/vr_lister'),
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  VR_BASE_URL: url(['http:', 'https:']).optional(),
  VR_USERNAME: z.string().min(1, 'must not be empty').optional(),
  VR_PASSWORD: z.string().min(1, 'must not be empty').optional(),
  QUEUE_PREFIX: z
    .string()
    .trim()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 letters, digits, dots, dashes or underscores')
    .default('vr-lister'),
  MAX_BATCH_SIZE: int(1, 1000).default(10),
  API_HOST: z.string().trim().min(1).default('127.0.0.1'),
  API_PORT: int(0, 65535).default(3000),
  API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  API_INSECURE: onOff.default(false),
  API_REQUEST_TIMEOUT_MS: int(100, 10 * 60_000).default(60_000),
  API_MAX_CONNECTIONS: int(1, 100_000).default(500),
  CHROMIUM_PATH: z.string().trim().min(1).default(DEFAULT_CHROMIUM_PATH),
  VR_REF_MARKER: onOff.default(true),
  VERIFY_LISTINGS: onOff.default(true),
  VR_REF_MARKER_TEMPLATE: z
    .string()
    .refine((v) => v.includes('{ref}'), 'must contain {ref}')
    .refine((v) => !/[<>&"]/.test(v), 'must not contain < > & or "')
    .default('Ref: {ref}'),
  VR_FALLBACK_BRAND: z.string().trim().min(1).default('Unbranded'),
  FLUSH_SETTLE_MS: int(0, HOUR).default(5_000),
  MAX_RESOLUTION_ATTEMPTS: int(1, 100).default(3),
  RESOLUTION_BACKOFF_MS: int(0, 24 * HOUR).default(30_000),
  STALE_PENDING_MS: int(1_000, 30 * 24 * HOUR).default(HOUR),
  RESUBMIT_UNKNOWN_AFTER_MS: int(1_000, 30 * 24 * HOUR).optional(),
  CREATE_ATTEMPTS: int(1, 100).default(5),
  CREATE_BACKOFF_MS: int(0, HOUR).default(5_000),
  OUTAGE_RETRY_MAX_MS: int(100, HOUR).default(300_000),
  OUTAGE_GIVE_UP_MS: int(0, 7 * 24 * HOUR).default(6 * HOUR),
  SWEEP_INTERVAL_MS: int(1_000, 24 * HOUR).default(60_000),
  // 0 or off: no scheduled reconcile. Each check downloads a whole export: a minute at the least.
  RECONCILE_INTERVAL_MS: z
    .string()
    .trim()
    .transform((v) => (v.toLowerCase() === 'off' ? '0' : v))
    .pipe(int(0, 7 * 24 * HOUR))
    .refine((v) => v === 0 || v >= 60_000, 'must be 0 or off, or at least 60000 (one export a minute)')
    .default(0),
  VR_PAGE_TIMEOUT_MS: int(1_000, 10 * 60_000).default(30_000),
  VR_SUBMIT_TIMEOUT_MS: int(1_000, 10 * 60_000).default(90_000),
  VR_EXPORT_TIMEOUT_MS: int(1_000, HOUR).default(300_000),
  IMAGE_ALLOW_HOSTS: hostList.optional(),
  IMAGE_BUDGET_MS: int(1_000, HOUR).default(60_000),
  WEBHOOK_URL: urlList.optional(),
  WEBHOOK_SECRET: z.string().min(16, 'must be at least 16 characters').optional(),
  WEBHOOK_RETRY_HOURS: int(0, 30 * 24).default(24),
  EVENT_RETENTION_DAYS: int(1, 3650).default(30),
  WEBHOOK_BACKOFF_MS: int(10, HOUR).default(10_000),
  WEBHOOK_TIMEOUT_MS: int(100, 10 * 60_000).default(10_000),
  WEBHOOK_ALLOW_HOSTS: hostList.optional(),
  SHUTDOWN_TIMEOUT_MS: int(1_000, HOUR).default(120_000),
  WORKER_LOCK_MS: int(1_000, HOUR).default(60_000),
  VR_DEFAULT_CATEGORY: leafCategory.optional(),
  VR_SHIPPING_FEES: shippingFees.optional(),
  VR_LOCAL_PICKUP: onOff.optional(),
  ARTIFACTS_DIR: z.string().trim().min(1).default('./artifacts'),
  ARTIFACTS_RETENTION_DAYS: int(1, 3650).default(7),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  VR_SESSION_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  VR_USER_AGENT: z
    .string()
    .trim()
    .min(1)
    .refine((v) => !/headless/i.test(v), 'must not say Headless: that is what gives automation away')
    .optional(),
  VR_HEADED: onOff.default(false),
  CHROMIUM_NO_SANDBOX: onOff.default(false),
  VR_CHALLENGE_WAIT_MS: int(0, 10 * 60_000).default(30_000),
});

export type Env = z.input<typeof envSchema>;

export interface Config {
  databaseUrl: string;
  redisUrl: string;
  vrBaseUrl: string | undefined;
  vrUsername: string | undefined;
  vrPassword: string | undefined;
  queuePrefix: string;
  maxBatchSize: number;
  apiHost: string;
  apiPort: number;
  apiToken: string | undefined;
  apiInsecure: boolean;
  /** Longest an HTTP request may take to arrive, headers and body: a slow sender is cut off. */
  apiRequestTimeoutMs: number;
  /** Open sockets the API accepts at once; more are closed as they connect. */
  apiMaxConnections: number;
  chromiumPath: string;
  /** CHROMIUM_NO_SANDBOX: Chromium may run without its sandbox (as root, or where the sandbox can't start). */
  chromiumNoSandbox: boolean;
  refMarker: boolean;
  refMarkerTemplate: string;
  /** VERIFY_LISTINGS: read each found listing back from its edit page and compare it with what was asked. */
  verifyListings: boolean;
  fallbackBrand: string;
  flushSettleMs: number;
  maxResolutionAttempts: number;
  resolutionBackoffMs: number;
  stalePendingMs: number;
  /**
   * Opt-in: a marker-on job whose Publish outcome is unknown and which several exports didn't show
   * is submitted again this long after its submit. Unset (the default): it goes to a person.
   */
  resubmitUnknownAfterMs: number | undefined;
  createAttempts: number;
  createBackoffMs: number;
  /** Longest wait between two tries while V&R or Postgres is unavailable (tries that use up no attempt). */
  outageRetryMaxMs: number;
  /** How long a creation job waits out an outage before its tries count again. */
  outageGiveUpMs: number;
  sweepIntervalMs: number;
  /** How often the resolution worker compares an export with Postgres (reconcile); 0: never. */
  reconcileIntervalMs: number;
  pageTimeoutMs: number;
  submitTimeoutMs: number;
  exportTimeoutMs: number;
  /** Internal hosts that photo URLs may point at on purpose (every other private address is refused). */
  imageAllowHosts: AllowedHost[];
  /** One time budget for downloading and converting all of a listing's photos. */
  imageBudgetMs: number;
  /** Where job events are POSTed (empty: no webhooks); signed with webhookSecret. */
  webhookUrls: string[];
  webhookSecret: string | undefined;
  /** How long a delivery is retried, with exponential backoff from webhookBackoffMs, before it fails. */
  webhookRetryHours: number;
  /** Job events (and their delivery log) older than this are deleted by the sweep, once settled. */
  eventRetentionDays: number;
  webhookBackoffMs: number;
  webhookTimeoutMs: number;
  /** Hosts a webhook may reach although their addresses are not public (same format as IMAGE_ALLOW_HOSTS). */
  webhookAllowHosts: AllowedHost[];
  shutdownTimeoutMs: number;
  /** How long a crashed worker's job stays locked before another worker takes it over. */
  workerLockMs: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Encrypts the stored V&R browser session (AES-256-GCM); required for a real (https) site. */
  vrSessionKey: string | undefined;
  /** The User-Agent for a session we start ourselves; a stored session keeps the one it was issued to. */
  vrUserAgent: string | undefined;
  /** A visible browser (needs a display: xvfb-run, or the image's Xvfb). */
  vrHeaded: boolean;
  /** How long Cloudflare's challenge gets to clear by itself before V&R counts as blocked. */
  challengeWaitMs: number;
  /** What a listing gets when it leaves out its category or shipping (VR_DEFAULT_CATEGORY, VR_SHIPPING_FEES, VR_LOCAL_PICKUP). */
  listingDefaults: ListingDefaults;
  /** Where evidence of an unexpected page is saved, one folder per job. */
  artifactsDir: string;
  artifactsRetentionDays: number;
}

/**
 * A URL as an error message may show it: anything up to its last `@` (user name and password,
 * even unencoded or in a URL too broken to parse) replaced.
 */
export function withoutCredentials(value: string): string {
  return value.replace(
    /^([a-z][a-z0-9+.-]*:\/*)?.*@/is,
    (_match, scheme: string | undefined) => `${scheme ?? ''}[redacted]@`,
  );
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');
LOOPBACK.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');

/** Whether a listen address is reachable from this machine only. */
export function isLoopback(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const address = host.replace(/^\[(.*)\]$/, '$1');
  const family = isIP(address);
  return family !== 0 && LOOPBACK.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

/** One problem on one line; several, one a line under a heading. */
function configError(problems: readonly string[]): ConfigError {
  if (problems.length === 1) return new ConfigError(`Invalid configuration: ${problems[0]}`);
  return new ConfigError(`Invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
}

/** Reads and validates the environment once; throws a ConfigError naming every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // An empty variable means "unset", as in most shells' `FOO= cmd`.
  const present = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => {
      const value = env[key];
      return value === undefined || value === '' ? [] : [[key, value]];
    }),
  );
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? 'environment');
      const shown =
        name.includes('PASSWORD') ||
        name.includes('TOKEN') ||
        name.includes('KEY') ||
        name.includes('SECRET') ||
        name === 'WEBHOOK_URL'
          ? ''
          : ` (got ${JSON.stringify(name.endsWith('_URL') ? withoutCredentials(present[name]!) : present[name])})`;
      return `${name}: ${issue.message}${present[name] === undefined ? '' : shown}`;
    });
    throw configError(lines);
  }
  const e = parsed.data;
  if (e.WEBHOOK_URL?.length && !e.WEBHOOK_SECRET) {
    throw configError([
      'WEBHOOK_SECRET: required when WEBHOOK_URL is set (receivers check the signature made with it)',
    ]);
  }
  if (e.VR_BASE_URL && (!e.VR_USERNAME || !e.VR_PASSWORD)) {
    const missing = ['VR_USERNAME', 'VR_PASSWORD'].filter((k) => !present[k]);
    throw configError(missing.map((k) => `${k}: required when VR_BASE_URL is set`));
  }
  if (e.VR_BASE_URL?.startsWith('https:') && !e.VR_SESSION_KEY) {
    // A real site's session (PHPSESSID, cf_clearance) is a login to the seller's account.
    throw configError([
      'VR_SESSION_KEY: required when VR_BASE_URL is a real site (https://): it encrypts the stored V&R session; set 16 or more random characters (e.g. `openssl rand -base64 32`)',
    ]);
  }
  if (e.RESUBMIT_UNKNOWN_AFTER_MS !== undefined && e.RESUBMIT_UNKNOWN_AFTER_MS >= e.STALE_PENDING_MS) {
    throw configError([
      `RESUBMIT_UNKNOWN_AFTER_MS: must be less than STALE_PENDING_MS (${e.STALE_PENDING_MS}), or a job goes to review before the policy can act (got ${e.RESUBMIT_UNKNOWN_AFTER_MS})`,
    ]);
  }
  if (e.API_INSECURE && !isLoopback(e.API_HOST)) {
    throw configError([
      `API_INSECURE: may be on only while API_HOST is a loopback address (127.0.0.1, ::1, localhost), not ${JSON.stringify(e.API_HOST)}: set API_TOKEN instead`,
    ]);
  }
  return {
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    vrBaseUrl: e.VR_BASE_URL?.replace(/\/+$/, ''),
    vrUsername: e.VR_USERNAME,
    vrPassword: e.VR_PASSWORD,
    queuePrefix: e.QUEUE_PREFIX,
    maxBatchSize: e.MAX_BATCH_SIZE,
    apiHost: e.API_HOST,
    apiPort: e.API_PORT,
    apiToken: e.API_TOKEN,
    apiInsecure: e.API_INSECURE,
    apiRequestTimeoutMs: e.API_REQUEST_TIMEOUT_MS,
    apiMaxConnections: e.API_MAX_CONNECTIONS,
    chromiumPath: e.CHROMIUM_PATH,
    chromiumNoSandbox: e.CHROMIUM_NO_SANDBOX,
    refMarker: e.VR_REF_MARKER,
    verifyListings: e.VERIFY_LISTINGS,
    refMarkerTemplate: e.VR_REF_MARKER_TEMPLATE,
    fallbackBrand: e.VR_FALLBACK_BRAND,
    flushSettleMs: e.FLUSH_SETTLE_MS,
    maxResolutionAttempts: e.MAX_RESOLUTION_ATTEMPTS,
    resolutionBackoffMs: e.RESOLUTION_BACKOFF_MS,
    stalePendingMs: e.STALE_PENDING_MS,
    resubmitUnknownAfterMs: e.RESUBMIT_UNKNOWN_AFTER_MS,
    createAttempts: e.CREATE_ATTEMPTS,
    createBackoffMs: e.CREATE_BACKOFF_MS,
    outageRetryMaxMs: e.OUTAGE_RETRY_MAX_MS,
    outageGiveUpMs: e.OUTAGE_GIVE_UP_MS,
    sweepIntervalMs: e.SWEEP_INTERVAL_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    pageTimeoutMs: e.VR_PAGE_TIMEOUT_MS,
    submitTimeoutMs: e.VR_SUBMIT_TIMEOUT_MS,
    exportTimeoutMs: e.VR_EXPORT_TIMEOUT_MS,
    imageAllowHosts: e.IMAGE_ALLOW_HOSTS ?? [],
    imageBudgetMs: e.IMAGE_BUDGET_MS,
    webhookUrls: e.WEBHOOK_URL ?? [],
    webhookSecret: e.WEBHOOK_SECRET,
    webhookRetryHours: e.WEBHOOK_RETRY_HOURS,
    eventRetentionDays: e.EVENT_RETENTION_DAYS,
    webhookBackoffMs: e.WEBHOOK_BACKOFF_MS,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    webhookAllowHosts: e.WEBHOOK_ALLOW_HOSTS ?? [],
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    workerLockMs: e.WORKER_LOCK_MS,
    logLevel: e.LOG_LEVEL,
    vrSessionKey: e.VR_SESSION_KEY,
    vrUserAgent: e.VR_USER_AGENT,
    vrHeaded: e.VR_HEADED,
    challengeWaitMs: e.VR_CHALLENGE_WAIT_MS,
    listingDefaults: {
      ...(e.VR_DEFAULT_CATEGORY === undefined ? {} : { category: e.VR_DEFAULT_CATEGORY }),
      ...(e.VR_SHIPPING_FEES === undefined ? {} : { shippingFees: e.VR_SHIPPING_FEES }),
      ...(e.VR_LOCAL_PICKUP === undefined ? {} : { localPickup: e.VR_LOCAL_PICKUP }),
    },
    artifactsDir: e.ARTIFACTS_DIR,
    artifactsRetentionDays: e.ARTIFACTS_RETENTION_DAYS,
  };
}

export interface VrSite {
  baseUrl: string;
  username: string;
  password: string;
}

/** The V&R site a worker talks to; the workers refuse to start without one. */
export function requireVrSite(config: Config): VrSite {
  if (!config.vrBaseUrl || !config.vrUsername || !config.vrPassword) {
    throw configError([
      'VR_BASE_URL: required for the workers (use `vr-lister start` to run on the built-in simulator)',
    ]);
  }
  return { baseUrl: config.vrBaseUrl, username: config.vrUsername, password: config.vrPassword };
}
