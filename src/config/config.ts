// Configuration comes from environment variables only; every bad value is refused at startup with a
// message naming the variable, and all problems are reported at once.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_RETRY_SCHEDULE_MS } from '../webhooks/retrySchedule.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const NODE_ENVS = ['development', 'production', 'test'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];

export type RunMode = 'embedded' | 'distributed';

export interface Config {
  port: number;
  host: string;
  /** Set: distributed mode on this Redis. Null: embedded mode, or a Redis Cluster. */
  redisUrl: string | null;
  /** Set (REDIS_CLUSTER_NODES): distributed mode on this Redis Cluster's seed nodes. */
  redisClusterNodes: Array<{ host: string; port: number }> | null;
  /** Kept for the audit trail. */
  databaseUrl: string | null;
  dataDir: string;
  jwtSecret: string | null;
  jwtPublicKey: string | null;
  /** Set: every token's `iss` must be this. */
  jwtIssuer: string | null;
  /** Set: every token's `aud` must be or include this. */
  jwtAudience: string | null;
  logLevel: LogLevel;
  nodeEnv: NodeEnv;
  /** How long a session is kept after its last change, unless it is still in play. */
  sessionTtlSeconds: number;
  /** A session nobody acts on for this long ends (`idle_expired`) and is removed, whatever its status. */
  sessionMaxIdleMs: number;
  bodyLimitBytes: number;
  /** How long a client may take to send a request, and how long an idle keep-alive connection stays. */
  http: {
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  websocket: {
    heartbeatIntervalMs: number;
    messagesPerSecond: number;
    burstMessages: number;
    maxMessageBytes: number;
    maxConnectionsPerAddress: number;
  };
  /** Requests to /v1/sessions per client address per window; `max` 0 turns the limiter off. */
  rateLimit: { windowMs: number; max: number };
  /** Origins a browser may call the REST API from: '*' for any, [] for same-origin only. */
  corsOrigins: string[] | '*';
  /** How many proxies in front are trusted to say the client's address (X-Forwarded-For); 0: none. */
  trustProxyHops: number;
  webhooks: {
    /** Delays in ms before each retry of an undelivered message; its length is the number of retries. */
    retryScheduleMs: number[];
    /** Lets webhook URLs reach loopback and private addresses in production. */
    allowPrivate: boolean;
    /**
     * False: this instance queues webhook messages but delivers none (distributed mode only);
     * `npm run webhook-worker` processes deliver them, off the command path's CPU.
     */
    deliver: boolean;
    /**
     * The nice value a webhook worker process runs at (0–19): on cores it shares with instances,
     * the scheduler lets their commands go first.
     */
    workerNice: number;
    /** Where a webhook worker process serves `/health` and `/metrics` (on HOST); 0: any free port. */
    workerPort: number;
  };
  /** The FCM service account (JSON, or a path to it); null: push notifications are off. */
  fcmServiceAccount: string | null;
  mode: RunMode;
}

export interface ConfigProblem {
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  readonly problems: ConfigProblem[];

  constructor(problems: ConfigProblem[]) {
    const lines = problems.map((problem) => `  - ${problem.variable}: ${problem.message}`);
    super(`Invalid configuration:\n${lines.join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const MAX_TTL_SECONDS = 30 * 24 * 3600;
const SEVEN_DAYS_MS = 7 * 24 * 3600 * 1000;
const MAX_IDLE_MS = 365 * 24 * 3600 * 1000;
const MAX_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

/** An unset or blank variable counts as unset (compose files often write `REDIS_URL=`). */
function blankToUndefined(raw: string | undefined): string | undefined {
  return raw === undefined || raw.trim() === '' ? undefined : raw.trim();
}

function integerVar(min: number, max: number, fallback: number) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = blankToUndefined(raw);
      if (value === undefined) return fallback;
      const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
        ctx.addIssue({
          code: 'custom',
          message: `must be an integer from ${min} to ${max}, got '${raw}'`,
        });
        return z.NEVER;
      }
      return parsed;
    });
}

function urlVar(protocols: readonly string[], example: string) {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = blankToUndefined(raw);
      if (value === undefined) return null;
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        // Never echoed: a URL that does not parse may still hold a password.
        ctx.addIssue({ code: 'custom', message: `must be a URL like ${example} (the value does not parse)` });
        return z.NEVER;
      }
      if (!protocols.includes(url.protocol)) {
        ctx.addIssue({
          code: 'custom',
          message: `must use ${protocols.map((p) => `${p}//`).join(' or ')}, got '${url.protocol}//'`,
        });
        return z.NEVER;
      }
      if (url.hostname === '') {
        ctx.addIssue({ code: 'custom', message: `must name a host, like ${example}` });
        return z.NEVER;
      }
      return value;
    });
}

function enumVar<const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      const value = blankToUndefined(raw);
      if (value === undefined) return fallback;
      if (!(values as readonly string[]).includes(value)) {
        ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got '${raw}'` });
        return z.NEVER;
      }
      return value as T[number];
    });
}

function stringVar(fallback: string) {
  return z
    .string()
    .optional()
    .transform((raw) => blankToUndefined(raw) ?? fallback);
}

function optionalStringVar() {
  // Secrets are kept verbatim (a PEM key's line breaks matter); blank still means unset.
  return z
    .string()
    .optional()
    .transform((raw) => (raw === undefined || raw.trim() === '' ? null : raw));
}

/** A claim value a token must carry (`iss`, `aud`): trimmed, blank is unset, no inner spaces. */
function claimVar() {
  return z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = blankToUndefined(raw);
      if (value === undefined) return null;
      if (/\s/.test(value)) {
        ctx.addIssue({ code: 'custom', message: `must be one value without spaces, got '${raw}'` });
        return z.NEVER;
      }
      return value;
    });
}

/** `host:port,host:port,…`: any nodes of a Redis Cluster (the client discovers the rest); blank: none. */
function clusterNodesVar() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): Array<{ host: string; port: number }> | null => {
      const value = blankToUndefined(raw);
      if (value === undefined) return null;
      const parts = value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
      const nodes = parts.map((part) => /^(?<host>[^\s:]+|\[[0-9a-fA-F:]+\]):(?<port>\d{1,5})$/.exec(part));
      const bad = parts.filter((_, i) => {
        const port = Number(nodes[i]?.groups?.port);
        return nodes[i] === null || port < 1 || port > 65535;
      });
      if (parts.length === 0 || bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a comma-separated list of host:port like 10.0.0.1:6379,10.0.0.2:6379, got '${bad.join(', ') || raw}'`,
        });
        return z.NEVER;
      }
      return nodes.map((match) => ({
        host: match!.groups!.host!.replace(/^\[(.*)\]$/, '$1'),
        port: Number(match!.groups!.port),
      }));
    });
}

/** `*`, or a comma-separated list of origins (`https://app.example.com`); blank: none. */
function originsVar() {
  return z
    .string()
    .optional()
    .transform((raw, ctx): string[] | '*' => {
      const value = blankToUndefined(raw);
      if (value === undefined) return [];
      if (value === '*') return '*';
      const origins = value
        .split(',')
        .map((part) => part.trim())
        .filter((part) => part !== '');
      const bad = origins.filter((origin) => !isOrigin(origin));
      if (bad.length > 0) {
        ctx.addIssue({
          code: 'custom',
          message: `must be * or a comma-separated list of origins like https://app.example.com (scheme, host and port only), got '${bad.join(', ')}'`,
        });
        return z.NEVER;
      }
      return origins;
    });
}

/** `5000,300000,…`: the delays in ms between webhook attempts; blank: the default schedule. */
function retryScheduleVar(fallback: readonly number[]) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number[] => {
      const value = blankToUndefined(raw);
      if (value === undefined) return [...fallback];
      const parts = value.split(',').map((part) => part.trim());
      const delays = parts.map((part) => (/^\d{1,10}$/.test(part) ? Number(part) : Number.NaN));
      if (parts.length > 50 || delays.some((delay) => Number.isNaN(delay) || delay < 1)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be 1 to 50 comma-separated delays in ms, each at least 1, like 5000,300000,1800000, got '${raw}'`,
        });
        return z.NEVER;
      }
      return delays;
    });
}

function booleanVar(fallback: boolean) {
  return z
    .string()
    .optional()
    .transform((raw, ctx): boolean => {
      const value = blankToUndefined(raw)?.toLowerCase();
      if (value === undefined) return fallback;
      if (value === 'true' || value === '1') return true;
      if (value === 'false' || value === '0') return false;
      ctx.addIssue({ code: 'custom', message: `must be true or false, got '${raw}'` });
      return z.NEVER;
    });
}

function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
  } catch {
    return false;
  }
}

const envSchema = z.object({
  PORT: integerVar(0, 65535, 3000),
  HOST: stringVar('0.0.0.0'),
  REDIS_URL: urlVar(['redis:', 'rediss:'], 'redis://localhost:6379'),
  REDIS_CLUSTER_NODES: clusterNodesVar(),
  DATABASE_URL: urlVar(['postgres:', 'postgresql:'], 'postgres://user:pass@localhost:5432/synckairos'),
  DATA_DIR: stringVar('./data'),
  JWT_SECRET: optionalStringVar(),
  JWT_PUBLIC_KEY: optionalStringVar(),
  JWT_ISSUER: claimVar(),
  JWT_AUDIENCE: claimVar(),
  LOG_LEVEL: enumVar(LOG_LEVELS, 'info'),
  NODE_ENV: enumVar(NODE_ENVS, 'development'),
  SESSION_TTL_SECONDS: integerVar(1, MAX_TTL_SECONDS, 3600),
  SESSION_MAX_IDLE_MS: integerVar(1000, MAX_IDLE_MS, SEVEN_DAYS_MS),
  BODY_LIMIT_BYTES: integerVar(1024, MAX_BODY_LIMIT_BYTES, 65536),
  HTTP_HEADERS_TIMEOUT_MS: integerVar(1000, 600_000, 10_000),
  HTTP_REQUEST_TIMEOUT_MS: integerVar(1000, 3_600_000, 30_000),
  // Above the 60 s idle timeout of common load balancers: they close an idle connection first,
  // so they never send a request on one this server is closing.
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integerVar(1000, 600_000, 65_000),
  WS_HEARTBEAT_INTERVAL_MS: integerVar(100, 600_000, 30_000),
  WS_MESSAGES_PER_SECOND: integerVar(1, 1_000_000, 100),
  WS_BURST_MESSAGES: integerVar(1, 1_000_000, 200),
  WS_MAX_MESSAGE_BYTES: integerVar(256, 1024 * 1024, 16 * 1024),
  WS_MAX_CONNECTIONS_PER_ADDRESS: integerVar(1, 1_000_000, 1000),
  RATE_LIMIT_WINDOW_MS: integerVar(1000, 24 * 3600 * 1000, 60_000),
  RATE_LIMIT_MAX: integerVar(0, 1_000_000, 1200),
  CORS_ORIGINS: originsVar(),
  TRUST_PROXY: integerVar(0, 10, 0),
  WEBHOOK_RETRY_SCHEDULE: retryScheduleVar(DEFAULT_RETRY_SCHEDULE_MS),
  WEBHOOK_ALLOW_PRIVATE: booleanVar(false),
  WEBHOOK_DELIVERY: enumVar(['on', 'off'] as const, 'on'),
  WEBHOOK_WORKER_NICE: integerVar(0, 19, 10),
  WEBHOOK_WORKER_PORT: integerVar(0, 65535, 3001),
  FCM_SERVICE_ACCOUNT: optionalStringVar(),
});

/** Auth may be off on a laptop, never in production; and one way of signing at a time. */
function authProblems(
  secret: string | null,
  publicKey: string | null,
  nodeEnv: NodeEnv,
  claims: { JWT_ISSUER: string | null; JWT_AUDIENCE: string | null },
): ConfigProblem[] {
  if (secret !== null && publicKey !== null) {
    return [
      { variable: 'JWT_SECRET', message: 'set JWT_SECRET (HS256) or JWT_PUBLIC_KEY (RS256), not both' },
    ];
  }
  if (publicKey !== null) {
    const problem = publicKeyProblem(publicKey);
    if (problem !== null) return [{ variable: 'JWT_PUBLIC_KEY', message: problem }];
  }
  if (secret !== null && secret.length < 16) {
    return [{ variable: 'JWT_SECRET', message: 'must be at least 16 characters' }];
  }
  if (nodeEnv === 'production' && secret === null && publicKey === null) {
    return [
      {
        variable: 'JWT_SECRET',
        message:
          'NODE_ENV=production needs JWT_SECRET or JWT_PUBLIC_KEY: without one every caller is an admin',
      },
    ];
  }
  // Required claims with auth off would check nothing: whoever set them expects auth to be on.
  const authOff = secret === null && publicKey === null;
  return Object.entries(claims)
    .filter(([, value]) => value !== null && authOff)
    .map(([variable]) => ({
      variable,
      message: 'checks tokens, but auth is off: set JWT_SECRET or JWT_PUBLIC_KEY too',
    }));
}

/**
 * Tokens are verified as RS256, so only an RSA public key will do: another key type fails every
 * token. A private key would work (its public half is derived) but has no place in this service.
 */
function publicKeyProblem(pem: string): string | null {
  // The label alone is read: the key is a secret, and an encrypted one would not even parse.
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) {
    return 'must be the RSA public key (-----BEGIN PUBLIC KEY-----…), not a private key';
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    return 'must be a PEM public key (-----BEGIN PUBLIC KEY-----…)';
  }
  if (key.asymmetricKeyType !== 'rsa') {
    return `must be an RSA public key (tokens are verified as RS256), got key type ${key.asymmetricKeyType ?? 'unknown'}`;
  }
  return null;
}

/** One Redis or one cluster: with both set it is not clear which holds the sessions. */
function redisProblems(redisUrl: string | null, clusterNodes: unknown[] | null): ConfigProblem[] {
  if (redisUrl === null || clusterNodes === null) return [];
  return [
    {
      variable: 'REDIS_CLUSTER_NODES',
      message: 'set REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster), not both',
    },
  ];
}

/** The headers are part of the request: Node refuses a headers timeout longer than the request's. */
function timeoutProblems(headersTimeoutMs: number, requestTimeoutMs: number): ConfigProblem[] {
  if (headersTimeoutMs <= requestTimeoutMs) return [];
  return [
    {
      variable: 'HTTP_HEADERS_TIMEOUT_MS',
      message: `must not exceed HTTP_REQUEST_TIMEOUT_MS (${requestTimeoutMs}), got ${headersTimeoutMs}`,
    },
  ];
}

/** Embedded mode's queue lives in this process's DATA_DIR: only this process can deliver from it. */
function deliveryProblems(delivery: 'on' | 'off', redis: unknown): ConfigProblem[] {
  if (delivery === 'on' || redis !== null) return [];
  return [
    {
      variable: 'WEBHOOK_DELIVERY',
      message:
        'off needs REDIS_URL or REDIS_CLUSTER_NODES: in embedded mode this process delivers its own webhooks',
    },
  ];
}

/** Reads the configuration; throws ConfigError listing every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({
        variable: String(issue.path[0] ?? '(environment)'),
        message: issue.message,
      })),
    );
  }
  const vars = result.data;
  const problems = [
    ...authProblems(vars.JWT_SECRET, vars.JWT_PUBLIC_KEY, vars.NODE_ENV, {
      JWT_ISSUER: vars.JWT_ISSUER,
      JWT_AUDIENCE: vars.JWT_AUDIENCE,
    }),
    ...timeoutProblems(vars.HTTP_HEADERS_TIMEOUT_MS, vars.HTTP_REQUEST_TIMEOUT_MS),
    ...redisProblems(vars.REDIS_URL, vars.REDIS_CLUSTER_NODES),
    ...deliveryProblems(vars.WEBHOOK_DELIVERY, vars.REDIS_URL ?? vars.REDIS_CLUSTER_NODES),
  ];
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port: vars.PORT,
    host: vars.HOST,
    redisUrl: vars.REDIS_URL,
    redisClusterNodes: vars.REDIS_CLUSTER_NODES,
    databaseUrl: vars.DATABASE_URL,
    dataDir: vars.DATA_DIR,
    jwtSecret: vars.JWT_SECRET,
    jwtPublicKey: vars.JWT_PUBLIC_KEY,
    jwtIssuer: vars.JWT_ISSUER,
    jwtAudience: vars.JWT_AUDIENCE,
    logLevel: vars.LOG_LEVEL,
    nodeEnv: vars.NODE_ENV,
    sessionTtlSeconds: vars.SESSION_TTL_SECONDS,
    sessionMaxIdleMs: vars.SESSION_MAX_IDLE_MS,
    bodyLimitBytes: vars.BODY_LIMIT_BYTES,
    http: {
      headersTimeoutMs: vars.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: vars.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: vars.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    },
    websocket: {
      heartbeatIntervalMs: vars.WS_HEARTBEAT_INTERVAL_MS,
      messagesPerSecond: vars.WS_MESSAGES_PER_SECOND,
      burstMessages: vars.WS_BURST_MESSAGES,
      maxMessageBytes: vars.WS_MAX_MESSAGE_BYTES,
      maxConnectionsPerAddress: vars.WS_MAX_CONNECTIONS_PER_ADDRESS,
    },
    rateLimit: { windowMs: vars.RATE_LIMIT_WINDOW_MS, max: vars.RATE_LIMIT_MAX },
    corsOrigins: vars.CORS_ORIGINS,
    trustProxyHops: vars.TRUST_PROXY,
    webhooks: {
      retryScheduleMs: vars.WEBHOOK_RETRY_SCHEDULE,
      // Outside production (a laptop, the tests) receivers on localhost are the point.
      allowPrivate: vars.WEBHOOK_ALLOW_PRIVATE || vars.NODE_ENV !== 'production',
      deliver: vars.WEBHOOK_DELIVERY === 'on',
      workerNice: vars.WEBHOOK_WORKER_NICE,
      workerPort: vars.WEBHOOK_WORKER_PORT,
    },
    fcmServiceAccount: vars.FCM_SERVICE_ACCOUNT,
    mode: vars.REDIS_URL === null && vars.REDIS_CLUSTER_NODES === null ? 'embedded' : 'distributed',
  };
}
