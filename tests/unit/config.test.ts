import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/config.js';

function refusal(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('an empty environment gives the documented defaults and embedded mode', () => {
    expect(loadConfig({})).toEqual({
      port: 3000,
      host: '0.0.0.0',
      redisUrl: null,
      redisClusterNodes: null,
      databaseUrl: null,
      dataDir: './data',
      jwtSecret: null,
      jwtPublicKey: null,
      jwtIssuer: null,
      jwtAudience: null,
      logLevel: 'info',
      nodeEnv: 'development',
      sessionTtlSeconds: 3600,
      sessionMaxIdleMs: 604_800_000,
      bodyLimitBytes: 65536,
      http: { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000 },
      websocket: {
        heartbeatIntervalMs: 30_000,
        messagesPerSecond: 100,
        burstMessages: 200,
        maxMessageBytes: 16_384,
        maxConnectionsPerAddress: 1000,
      },
      rateLimit: { windowMs: 60_000, max: 1200 },
      corsOrigins: [],
      trustProxyHops: 0,
      webhooks: {
        retryScheduleMs: [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000],
        // Outside production receivers on localhost are allowed.
        allowPrivate: true,
        deliver: true,
        workerNice: 10,
        workerPort: 3001,
      },
      fcmServiceAccount: null,
      mode: 'embedded',
    });
  });

  it('every variable is read, and REDIS_URL selects distributed mode', () => {
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      REDIS_URL: 'rediss://user:secret@redis.example:6380/2',
      DATABASE_URL: 'postgresql://sk:pw@db:5432/synckairos',
      DATA_DIR: '/var/lib/synckairos',
      JWT_SECRET: 'a-secret-of-16-chars-or-more',
      JWT_ISSUER: 'https://auth.example.com/',
      JWT_AUDIENCE: ' synckairos ',
      LOG_LEVEL: 'debug',
      NODE_ENV: 'production',
      SESSION_TTL_SECONDS: '60',
      SESSION_MAX_IDLE_MS: '86400000',
      BODY_LIMIT_BYTES: '2048',
      HTTP_HEADERS_TIMEOUT_MS: '5000',
      HTTP_REQUEST_TIMEOUT_MS: '20000',
      HTTP_KEEP_ALIVE_TIMEOUT_MS: '75000',
      WS_HEARTBEAT_INTERVAL_MS: '5000',
      WS_MESSAGES_PER_SECOND: '10',
      WS_BURST_MESSAGES: '20',
      WS_MAX_MESSAGE_BYTES: '4096',
      WS_MAX_CONNECTIONS_PER_ADDRESS: '50',
      RATE_LIMIT_WINDOW_MS: '10000',
      RATE_LIMIT_MAX: '0',
      CORS_ORIGINS: 'https://app.example.com, http://localhost:5173',
      TRUST_PROXY: '1',
      WEBHOOK_RETRY_SCHEDULE: '100, 2000,30000',
      WEBHOOK_ALLOW_PRIVATE: 'true',
      WEBHOOK_DELIVERY: 'off',
      WEBHOOK_WORKER_NICE: '15',
      WEBHOOK_WORKER_PORT: '9464',
      FCM_SERVICE_ACCOUNT: '/etc/synckairos/fcm.json',
    });
    expect(config).toEqual({
      port: 0,
      host: '127.0.0.1',
      redisUrl: 'rediss://user:secret@redis.example:6380/2',
      redisClusterNodes: null,
      databaseUrl: 'postgresql://sk:pw@db:5432/synckairos',
      dataDir: '/var/lib/synckairos',
      jwtSecret: 'a-secret-of-16-chars-or-more',
      jwtPublicKey: null,
      jwtIssuer: 'https://auth.example.com/',
      jwtAudience: 'synckairos',
      logLevel: 'debug',
      nodeEnv: 'production',
      sessionTtlSeconds: 60,
      sessionMaxIdleMs: 86_400_000,
      bodyLimitBytes: 2048,
      http: { headersTimeoutMs: 5000, requestTimeoutMs: 20_000, keepAliveTimeoutMs: 75_000 },
      websocket: {
        heartbeatIntervalMs: 5000,
        messagesPerSecond: 10,
        burstMessages: 20,
        maxMessageBytes: 4096,
        maxConnectionsPerAddress: 50,
      },
      rateLimit: { windowMs: 10_000, max: 0 },
      corsOrigins: ['https://app.example.com', 'http://localhost:5173'],
      trustProxyHops: 1,
      webhooks: {
        retryScheduleMs: [100, 2000, 30_000],
        allowPrivate: true,
        deliver: false,
        workerNice: 15,
        workerPort: 9464,
      },
      fcmServiceAccount: '/etc/synckairos/fcm.json',
      mode: 'distributed',
    });
  });

  it('production refuses private webhook URLs unless WEBHOOK_ALLOW_PRIVATE says otherwise', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'a-secret-of-16-chars-or-more' };
    expect(loadConfig(production).webhooks.allowPrivate).toBe(false);
    expect(loadConfig({ ...production, WEBHOOK_ALLOW_PRIVATE: 'false' }).webhooks.allowPrivate).toBe(false);
    expect(loadConfig({ ...production, WEBHOOK_ALLOW_PRIVATE: 'true' }).webhooks.allowPrivate).toBe(true);
  });

  it('refuses a webhook retry schedule that is not a list of positive delays in ms', () => {
    for (const schedule of ['5s,5m', '0', '100,,200', '-5', '1.5']) {
      expect(
        refusal({ WEBHOOK_RETRY_SCHEDULE: schedule }).problems.map((p) => p.variable),
        schedule,
      ).toEqual(['WEBHOOK_RETRY_SCHEDULE']);
    }
    expect(refusal({ WEBHOOK_ALLOW_PRIVATE: 'yes' }).problems[0]!.variable).toBe('WEBHOOK_ALLOW_PRIVATE');
  });

  it('WEBHOOK_DELIVERY=off leaves delivery to webhook workers, which only distributed mode has', () => {
    expect(refusal({ WEBHOOK_DELIVERY: 'off' }).problems).toEqual([
      {
        variable: 'WEBHOOK_DELIVERY',
        message:
          'off needs REDIS_URL or REDIS_CLUSTER_NODES: in embedded mode this process delivers its own webhooks',
      },
    ]);
    expect(refusal({ WEBHOOK_DELIVERY: 'maybe' }).problems[0]!.variable).toBe('WEBHOOK_DELIVERY');
    expect(loadConfig({}).webhooks.workerNice).toBe(10);
    for (const nice of ['-1', '20', 'low']) {
      expect(refusal({ WEBHOOK_WORKER_NICE: nice }).problems[0]!.variable).toBe('WEBHOOK_WORKER_NICE');
    }
    for (const port of ['-1', '65536', 'metrics']) {
      expect(refusal({ WEBHOOK_WORKER_PORT: port }).problems[0]!.variable).toBe('WEBHOOK_WORKER_PORT');
    }
    expect(
      loadConfig({ REDIS_URL: 'redis://127.0.0.1:6380', WEBHOOK_DELIVERY: 'off' }).webhooks.deliver,
    ).toBe(false);
  });

  it('refuses a headers timeout longer than the request timeout, which Node would not take', () => {
    expect(refusal({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' }).problems).toEqual([
      expect.objectContaining({
        variable: 'HTTP_HEADERS_TIMEOUT_MS',
        message: expect.stringContaining('HTTP_REQUEST_TIMEOUT_MS'),
      }),
    ]);
    expect(refusal({ HTTP_REQUEST_TIMEOUT_MS: '0' }).problems[0]?.variable).toBe('HTTP_REQUEST_TIMEOUT_MS');
  });

  it('production refuses to start without a secret or key, saying why', () => {
    expect(refusal({ NODE_ENV: 'production' }).problems).toEqual([
      expect.objectContaining({ variable: 'JWT_SECRET', message: expect.stringContaining('production') }),
    ]);
    const withSecret = loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'a-secret-of-16-chars-or-more' });
    expect(withSecret.nodeEnv).toBe('production');
  });

  it('refuses a short secret, an unreadable public key, and both at once', () => {
    expect(refusal({ JWT_SECRET: 'short' }).problems[0]?.variable).toBe('JWT_SECRET');
    expect(refusal({ JWT_PUBLIC_KEY: 'not a pem' }).problems[0]?.variable).toBe('JWT_PUBLIC_KEY');
    const both = refusal({ JWT_SECRET: 'a-secret-of-16-chars-or-more', JWT_PUBLIC_KEY: 'x' });
    expect(both.problems[0]?.message).toContain('not both');
  });

  it('JWT_PUBLIC_KEY must be an RSA public key: tokens are verified as RS256', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadConfig({ JWT_PUBLIC_KEY: spki }).jwtPublicKey).toBe(spki);
    const pkcs1 = rsa.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    expect(loadConfig({ JWT_PUBLIC_KEY: pkcs1 }).jwtPublicKey).toBe(pkcs1);

    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey;
    expect(
      refusal({ JWT_PUBLIC_KEY: ec.export({ type: 'spki', format: 'pem' }).toString() }).problems,
    ).toEqual([{ variable: 'JWT_PUBLIC_KEY', message: expect.stringMatching(/RSA.*got key type ec$/) }]);
    // A private key would work (the public half is derived from it) but must not sit in this service.
    for (const type of ['pkcs8', 'pkcs1'] as const) {
      const pem = rsa.privateKey.export({ type, format: 'pem' }).toString();
      const error = refusal({ JWT_PUBLIC_KEY: pem });
      expect(error.problems).toEqual([
        { variable: 'JWT_PUBLIC_KEY', message: expect.stringContaining('not a private key') },
      ]);
      expect(error.message).not.toContain(pem.split('\n')[1]);
    }
  });

  it('JWT_ISSUER and JWT_AUDIENCE are refused while auth is off, since they would check nothing', () => {
    expect(refusal({ JWT_ISSUER: 'https://auth.example.com/', JWT_AUDIENCE: 'synckairos' }).problems).toEqual(
      [
        { variable: 'JWT_ISSUER', message: expect.stringContaining('auth is off') },
        { variable: 'JWT_AUDIENCE', message: expect.stringContaining('auth is off') },
      ],
    );
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const spki = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(loadConfig({ JWT_PUBLIC_KEY: spki, JWT_AUDIENCE: 'synckairos' }).jwtAudience).toBe('synckairos');
    expect(loadConfig({ JWT_ISSUER: ' ', JWT_AUDIENCE: '' })).toMatchObject({
      jwtIssuer: null,
      jwtAudience: null,
    });
  });

  it('CORS_ORIGINS=* allows any origin', () => {
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
  });

  it('REDIS_CLUSTER_NODES selects distributed mode on a Redis Cluster', () => {
    const config = loadConfig({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, redis-2.internal:7001,[::1]:7002 ' });
    expect(config.mode).toBe('distributed');
    expect(config.redisUrl).toBeNull();
    expect(config.redisClusterNodes).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: 'redis-2.internal', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
  });

  it.each(['10.0.0.1', '10.0.0.1:0', 'redis://10.0.0.1:7000', '10.0.0.1:7000,:7001', ','])(
    'REDIS_CLUSTER_NODES=%s is refused, naming the variable',
    (value) => {
      expect(() => loadConfig({ REDIS_CLUSTER_NODES: value })).toThrow(
        /REDIS_CLUSTER_NODES: must be a comma-separated list of host:port/,
      );
    },
  );

  it('REDIS_URL and REDIS_CLUSTER_NODES together are refused', () => {
    expect(() =>
      loadConfig({ REDIS_URL: 'redis://localhost:6379', REDIS_CLUSTER_NODES: 'localhost:7000' }),
    ).toThrow(/REDIS_CLUSTER_NODES: set REDIS_URL \(one Redis\) or REDIS_CLUSTER_NODES/);
  });

  it('a blank REDIS_URL counts as unset (embedded mode)', () => {
    expect(loadConfig({ REDIS_URL: '' }).mode).toBe('embedded');
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '-1'],
    ['PORT', '80.5'],
    ['REDIS_URL', 'notaurl'],
    ['REDIS_URL', 'http://localhost:6379'],
    ['DATABASE_URL', 'mysql://localhost/db'],
    ['LOG_LEVEL', 'loud'],
    ['NODE_ENV', 'staging'],
    ['SESSION_TTL_SECONDS', '-1'],
    ['SESSION_TTL_SECONDS', '0'],
    ['SESSION_TTL_SECONDS', 'forever'],
    ['SESSION_MAX_IDLE_MS', '999'],
    ['SESSION_MAX_IDLE_MS', '31536000001'],
    ['BODY_LIMIT_BYTES', '10'],
    ['RATE_LIMIT_WINDOW_MS', '10'],
    ['RATE_LIMIT_MAX', '-1'],
    ['CORS_ORIGINS', 'https://app.example.com/path'],
    ['CORS_ORIGINS', 'app.example.com'],
    ['TRUST_PROXY', 'yes'],
    ['JWT_AUDIENCE', 'one two'],
  ])('%s=%s is refused with a message naming the variable', (variable, value) => {
    const error = refusal({ [variable]: value });
    expect(error.problems).toHaveLength(1);
    expect(error.problems[0]?.variable).toBe(variable);
    expect(error.message).toContain(`${variable}: `);
    // URLs may carry a password, so only the offending scheme is echoed for them, and nothing
    // of one that does not even parse.
    const echoed = !variable.endsWith('_URL')
      ? value
      : URL.canParse(value)
        ? value.split('/')[0]!
        : 'does not parse';
    expect(error.message).toContain(echoed);
  });

  it('a URL that does not parse is not echoed, so its password is not either', () => {
    for (const variable of ['REDIS_URL', 'DATABASE_URL']) {
      const error = refusal({ [variable]: 'postgres://user:s3cret@host:99999/db' });
      expect(error.problems.map((problem) => problem.variable)).toEqual([variable]);
      expect(error.message).not.toContain('s3cret');
    }
  });

  it('every problem is listed at once', () => {
    const error = refusal({ PORT: 'abc', LOG_LEVEL: 'loud', REDIS_URL: 'notaurl' });
    expect(error.problems.map((problem) => problem.variable).sort()).toEqual([
      'LOG_LEVEL',
      'PORT',
      'REDIS_URL',
    ]);
    expect(error.message).toMatch(/PORT: must be an integer from 0 to 65535/);
    expect(error.message).toMatch(/LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(error.message).toMatch(/REDIS_URL: must be a URL/);
  });
});
