/**
 * The relay: a store-and-forward server trusted with nothing. `POST /messages` stores a package for a
 * recipient, `GET /messages` returns what waits for a recipient after a ref, `POST /ack` deletes. Every call
 * carries the bearer token of the name it acts for (sender of a send, recipient of a fetch or ack); the relay
 * registers a name's token on first use and keeps only its hash. {@link buildRelay} makes the fastify instance
 * (tests use inject()); {@link listenRelay} binds it to the configured address only.
 */
import { isIP } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { OnepadError } from '../device/errors.js';
import { decodeBase64, encodeBase64 } from '../rpc/codec.js';
import { faultSummary, installErrorHandlers, sendNotFound } from '../rpc/errors.js';
import { answerExpectations, clientErrorHandler } from '../rpc/http-guards.js';
import { installStrictJson } from '../rpc/json-body.js';
import { bestEffortLog } from '../rpc/log-stream.js';
import { STRICT_FASTIFY_OPTIONS } from '../rpc/strict-options.js';
import { RateLimiter, SourceRateLimiter } from './rate-limit.js';
import type { RelayConfig } from './relay-config.js';
import {
  type AckRequest,
  type AckResponse,
  base64Length,
  type FetchResponse,
  relayRouteSchemas,
  type SendRequest,
  type SendResponse,
  TOKEN_PATTERN,
} from './relay-protocol.js';
import { limitConnectionsPerSource, type SourceConnections, SourceTagger, sourceKeys } from './relay-sources.js';
import type { RelayStore } from './relay-store.js';

/** What {@link buildRelay} needs. */
export interface RelayDeps {
  readonly config: RelayConfig;
  readonly store: RelayStore;
  /** The relay's clock (ms since the epoch); tests inject one. */
  readonly now?: () => number;
  /** pino destination; no logging when absent. */
  readonly logStream?: { write(line: string): unknown };
}

/** The fastify instance with its sweep. */
export type RelayServer = FastifyInstance & {
  /** Delete expired messages now. Returns how many. */
  readonly sweepNow: () => number;
  /** Open connections per source address, and the peak. */
  readonly sourceConnections: SourceConnections;
};

const TOKEN_RE = new RegExp(TOKEN_PATTERN);

/** The bearer token of a request, or null when absent or not of the token's shape. */
function bearer(request: FastifyRequest): string | null {
  const h = request.headers.authorization;
  if (typeof h !== 'string') return null;
  const m = /^Bearer (\S+)$/.exec(h);
  return m && TOKEN_RE.test(m[1] as string) ? (m[1] as string) : null;
}

/**
 * Build the relay (not listening). A sweep of expired messages runs every `sweepIntervalMs` while it is open.
 *
 * Limits per name (`rate`) and per source address (`perSource`: connections, new names, sends, bytes, and its
 * share of what waits, in all and for each recipient; an IPv6 source by its /64 and its /48 site) keep one client
 * from shutting others out.
 */
export function buildRelay(deps: RelayDeps): RelayServer {
  const { config, store } = deps;
  const now = deps.now ?? Date.now;
  const maxPackageBase64 = base64Length(config.maxPackageBytes);
  const schemas = relayRouteSchemas({ maxPackageBase64, maxFetch: config.maxFetch });
  const limiter = new RateLimiter(config.rate, config.maxNames);
  const per = config.perSource;
  const f = per.siteFactor;
  const sourceNames = new SourceRateLimiter({ burst: per.names.burst, perMinute: per.names.perHour / 60 }, f);
  const sourceSends = new SourceRateLimiter(per.sends, f);
  const sourceBytes = new SourceRateLimiter(per.bytes, f);
  const tagger = new SourceTagger();

  const app = Fastify({
    logger: deps.logStream
      ? {
          level: config.logLevel,
          stream: bestEffortLog(deps.logStream),
          // Method, path without its query (which names the recipient), status. No names, bodies or addresses.
          serializers: {
            req: (req: { method?: string; url?: string }) => ({
              method: req.method,
              path: typeof req.url === 'string' ? req.url.split('?')[0]?.slice(0, 32) : undefined,
            }),
            res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
          },
        }
      : false,
    bodyLimit: maxPackageBase64 + 1024,
    connectionTimeout: 60_000,
    keepAliveTimeout: 5_000,
    requestTimeout: config.requestTimeoutMs,
    http: {
      headersTimeout: Math.min(config.headersTimeoutMs, config.requestTimeoutMs),
      connectionsCheckingInterval: 250,
      requireHostHeader: false,
    },
    forceCloseConnections: true,
    ...STRICT_FASTIFY_OPTIONS,
    frameworkErrors: (_err, _request, reply) => {
      sendNotFound(reply);
    },
    clientErrorHandler: clientErrorHandler(),
  });
  app.server.maxConnections = config.maxConnections;
  app.decorate('sourceConnections', limitConnectionsPerSource(app.server, per.maxConnections, per.maxConnections * f));
  answerExpectations(app.server);
  app.removeContentTypeParser('text/plain');
  installStrictJson(app);

  const sweepNow = () => store.sweep(now() - config.retentionMs);
  app.decorate('sweepNow', sweepNow);
  const timer = setInterval(() => {
    try {
      sweepNow();
      const t = now();
      for (const l of [limiter, sourceNames, sourceSends, sourceBytes]) l.prune(t);
    } catch (e) {
      app.log.error({ fault: faultSummary(e) }, 'sweep failed');
    }
  }, config.sweepIntervalMs);
  timer.unref();
  app.addHook('onClose', async () => clearInterval(timer));

  installErrorHandlers(app);

  // A source out of sends is refused before its body is read: a flood costs the relay no parsing.
  app.addHook('onRequest', async (request) => {
    if (request.method !== 'POST' || !request.url.startsWith('/messages')) return;
    const w = sourceSends.peek(sourceKeys(request.socket.remoteAddress), now());
    if (w.wait > 0) {
      throw new OnepadError('RELAY_RATE_LIMITED', { scope: w.site ? 'site' : 'source', retryAfterMs: w.wait });
    }
  });

  /**
   * @throws OnepadError RELAY_UNAUTHORIZED unless the request carries the token registered for `name`;
   *   RELAY_RATE_LIMITED (scope `names`) when `name` is new and its source registered its share of names
   */
  const authenticate = (request: FastifyRequest, name: string): void => {
    const token = bearer(request);
    const t = now();
    const mayRegister = () => {
      const w = sourceNames.take(sourceKeys(request.socket.remoteAddress), t);
      if (w.wait > 0) {
        throw new OnepadError('RELAY_RATE_LIMITED', { scope: w.site ? 'site-names' : 'names', retryAfterMs: w.wait });
      }
    };
    if (token === null || !store.authenticate(name, token, t, mayRegister)) {
      throw new OnepadError('RELAY_UNAUTHORIZED', { reason: token === null ? 'no token' : 'wrong token' });
    }
  };

  app.post<{ Body: SendRequest }>('/messages', { schema: schemas.send }, async (request): Promise<SendResponse> => {
    const body = request.body;
    const pkg = decodeBase64(body.package, 'package');
    if (pkg.length > config.maxPackageBytes) {
      throw new OnepadError('RELAY_PACKAGE_TOO_LARGE', { size: pkg.length, max: config.maxPackageBytes });
    }
    authenticate(request, body.from);
    const t = now();
    const wait = limiter.take(body.from, t);
    if (wait > 0) throw new OnepadError('RELAY_RATE_LIMITED', { retryAfterMs: wait });
    const keys = sourceKeys(request.socket.remoteAddress);
    const sendWait = sourceSends.take(keys, t);
    if (sendWait.wait > 0) {
      throw new OnepadError('RELAY_RATE_LIMITED', {
        scope: sendWait.site ? 'site' : 'source',
        retryAfterMs: sendWait.wait,
      });
    }
    const byteWait = sourceBytes.take(keys, t, pkg.length);
    if (byteWait.wait > 0) {
      throw new OnepadError('RELAY_RATE_LIMITED', {
        scope: byteWait.site ? 'site-bytes' : 'bytes',
        retryAfterMs: byteWait.wait,
      });
    }
    let ref: number;
    try {
      ref = store.insert(body.from, body.to, pkg, t, {
        tag: tagger.tag(keys.source),
        maxWaiting: per.maxWaiting,
        maxWaitingBytes: per.maxWaitingBytes,
        maxWaitingPerRecipient: per.maxWaitingPerRecipient,
        ...(keys.site === undefined
          ? {}
          : {
              site: {
                tag: tagger.tag(keys.site),
                maxWaiting: per.maxWaiting * f,
                maxWaitingBytes: per.maxWaitingBytes * f,
                maxWaitingPerRecipient: per.maxWaitingPerRecipient * f,
              },
            }),
      });
    } catch (e) {
      if (e instanceof OnepadError) throw e;
      // Disk full, I/O error: nothing was stored, and the sender may try again.
      request.log.error({ fault: faultSummary(e) }, 'insert failed');
      throw new OnepadError('STORAGE_FAILED', { reason: 'insert' });
    }
    return { ref, time: t };
  });

  app.get<{ Querystring: { to: string; after?: string; limit?: string } }>(
    '/messages',
    { schema: schemas.fetch },
    async (request): Promise<FetchResponse> => {
      const q = request.query;
      const after = Number(q.after ?? '0');
      if (!Number.isSafeInteger(after)) throw new OnepadError('INVALID_ARGUMENT', { field: 'after', reason: 'range' });
      const limit = Math.min(Number(q.limit ?? config.maxFetch), config.maxFetch);
      authenticate(request, q.to);
      const rows = store.fetch(q.to, after, limit + 1, now() - config.retentionMs);
      return {
        messages: rows.slice(0, limit).map((m) => ({
          ref: m.ref,
          from: m.from,
          package: encodeBase64(m.package),
          time: m.time,
        })),
        more: rows.length > limit,
      };
    },
  );

  app.post<{ Body: AckRequest }>('/ack', { schema: schemas.ack }, async (request): Promise<AckResponse> => {
    authenticate(request, request.body.to);
    return { deleted: store.ack(request.body.to, request.body.refs) };
  });

  return app as unknown as RelayServer;
}

/**
 * Bind the relay to `config.address:config.port` and nothing else.
 *
 * @param port - override `config.port` (tests pass 0)
 * @throws OnepadError CONFIG_INVALID when the address is not an IP address
 */
export async function listenRelay(
  app: FastifyInstance,
  config: RelayConfig,
  port = config.port,
): Promise<{ address: string; port: number }> {
  if (isIP(config.address) === 0) throw new OnepadError('CONFIG_INVALID', { field: 'address', reason: 'not an IP' });
  await app.listen({ host: config.address, port, listenTextResolver: () => 'relay listening' });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new OnepadError('INTERNAL');
  return { address: addr.address, port: addr.port };
}
