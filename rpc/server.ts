/**
 * The link server: `POST /package` and `POST /unpackage`, nothing else, answered one at a time through the
 * request queue, only to the configured peer. {@link build} makes the fastify instance (tests use inject());
 * {@link listen} binds it to the link address.
 */
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import type { Config } from '../device/config/config.js';
import type { SessionView } from '../device/confirm.js';
import type {
  PackageResult,
  SessionAsk,
  SessionPackageResult,
  SessionUnpackageResult,
  UnpackageResult,
} from '../device/engine-types.js';
import { OnepadError } from '../device/errors.js';
import { decodeBase64, decodeTextOrNull, encodeBase64, encodeText } from './codec.js';
import { installErrorHandlers, sendError, sendNotFound } from './errors.js';
import { answerExpectations, clientErrorHandler } from './http-guards.js';
import { installStrictJson } from './json-body.js';
import { checkLinkAddress, isWildcard } from './link-address.js';
import { bestEffortLog, type LogStream } from './log-stream.js';
import type {
  OpenSessionRequest,
  OpenSessionResponse,
  SessionPackageRequest,
  SessionPackageResponse,
  SessionUnpackageRequest,
  SessionUnpackageResponse,
} from './pipe-protocol.js';
import {
  type PackageRequest,
  type PackageResponse,
  packageRouteSchema,
  protocolLimits,
  type UnpackageRequest,
  type UnpackageResponse,
  unpackageRouteSchema,
} from './protocol.js';
import { SerialQueue } from './queue.js';
import { STRICT_FASTIFY_OPTIONS } from './strict-options.js';
import { plainAddress, webRefusal } from './web-guard.js';

export { isWildcard } from './link-address.js';
export type { LogStream } from './log-stream.js';

/** What the server needs of the engine (device/engine.ts DeviceEngine satisfies it). */
export interface RpcEngine {
  package(contact: string, plaintext: Uint8Array, signal?: AbortSignal): Promise<PackageResult>;
  unpackage(bytes: Uint8Array, signal?: AbortSignal): Promise<UnpackageResult>;
  /** Pipe sessions (device/engine.ts); without them session requests get SESSION_UNAVAILABLE. */
  openSession?(contact: string, ask: SessionAsk, signal?: AbortSignal): Promise<SessionView>;
  sessionPackage?(id: string, frames: readonly Uint8Array[]): SessionPackageResult;
  sessionUnpackage?(id: string, packages: readonly Uint8Array[]): SessionUnpackageResult;
  endSession?(id: string): SessionView;
  runningSessions?(): SessionView[];
}

/** What {@link build} is given. */
export interface RpcDeps {
  /** The engine; its confirmer asks the user. */
  readonly engine: RpcEngine;
  readonly config: Pick<Config, 'engine' | 'confirm' | 'link'>;
  /** Log through pino to this stream at `link.logLevel`, best-effort (a failed write is dropped); none when absent. */
  readonly logStream?: LogStream;
}

/** The fastify instance with the queue it serves through. */
export type RpcServer = FastifyInstance & { readonly rpcQueue: SerialQueue };

/** The timeouts of one server, in milliseconds. */
export interface ServerTimeouts {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly keepAliveTimeout: number;
  /** Socket idle timeout: longer than the longest possible wait for the user. */
  readonly connectionTimeout: number;
}

/**
 * The server's timeouts. Receiving a request is bounded tightly (headers, whole request); the wait for the
 * answer is not, beyond the longest the queue and the user can take: every waiting request's confirmation
 * timing out in turn, plus a margin for the engine's commit.
 */
export function serverTimeouts(config: Pick<Config, 'confirm' | 'link'>): ServerTimeouts {
  const link = config.link;
  const longestWait = (config.confirm.queueLength + 1) * config.confirm.timeoutMs + link.responseMarginMs;
  return {
    headersTimeout: Math.min(link.headersTimeoutMs, link.requestTimeoutMs),
    requestTimeout: link.requestTimeoutMs,
    keepAliveTimeout: link.keepAliveTimeoutMs,
    connectionTimeout: longestWait,
  };
}

/**
 * A predicate that is true for exactly the configured peer address (any textual form of it).
 *
 * @throws OnepadError LINK_ADDRESS_REFUSED when `peer` is not an IP address
 */
export function peerMatcher(peer: string): (remote: string | undefined) => boolean {
  const p = plainAddress(peer);
  const family = isIP(p);
  if (family === 0) throw new OnepadError('LINK_ADDRESS_REFUSED', { field: 'link.peer' }, 'link.peer');
  const list = new BlockList();
  list.addAddress(p, family === 4 ? 'ipv4' : 'ipv6');
  return (remote) => {
    if (!remote) return false;
    const r = plainAddress(remote);
    const rf = isIP(r);
    return rf === family && list.check(r, rf === 4 ? 'ipv4' : 'ipv6');
  };
}

/** A signal aborted when the client goes away before its answer was written. */
function clientGone(reply: FastifyReply): { signal: AbortSignal; done: () => void } {
  const ac = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) ac.abort();
  };
  reply.raw.once('close', onClose);
  return { signal: ac.signal, done: () => reply.raw.off('close', onClose) };
}

/**
 * Build the link server (not listening). Requests from other sources than `link.peer` get PEER_REFUSED; each
 * call goes through a {@link SerialQueue} of `confirm.queueLength`; errors are registry codes with fixed bodies.
 *
 * @throws OnepadError LINK_ADDRESS_REFUSED when `link.peer` is not an IP address
 */
export function build(deps: RpcDeps): RpcServer {
  const { engine, config } = deps;
  const limits = protocolLimits(config.engine.maxMessageLength);
  const timeouts = serverTimeouts(config);
  const isPeer = peerMatcher(config.link.peer);
  const queue = new SerialQueue(config.confirm.queueLength);
  const wildcard = isWildcard(config.link.address);

  const app = Fastify({
    logger: deps.logStream
      ? {
          level: config.link.logLevel,
          stream: bestEffortLog(deps.logStream),
          // Never bodies or headers: method, path and source only; status on completion.
          serializers: {
            req: (req: { method?: string; url?: string; socket?: { remoteAddress?: string } }) => ({
              method: req.method,
              url: typeof req.url === 'string' ? req.url.slice(0, 64) : undefined,
              remoteAddress: req.socket?.remoteAddress,
            }),
            res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
          },
        }
      : false,
    bodyLimit: limits.bodyLimit,
    connectionTimeout: timeouts.connectionTimeout,
    keepAliveTimeout: timeouts.keepAliveTimeout,
    requestTimeout: timeouts.requestTimeout,
    // No Host is refused by the onRequest hook with a registry code, not by Node's own bodyless 400.
    http: { headersTimeout: timeouts.headersTimeout, connectionsCheckingInterval: 250, requireHostHeader: false },
    forceCloseConnections: 'idle',
    return503OnClosing: false,
    ...STRICT_FASTIFY_OPTIONS,
    frameworkErrors: (_err, _request, reply) => {
      sendNotFound(reply);
    },
    // A malformed, too slow or too large HTTP message: one fixed registry answer, then the socket is closed.
    clientErrorHandler: clientErrorHandler(),
  });
  answerExpectations(app.server);

  app.server.maxConnections = config.link.maxConnections;
  // Node keeps only the first 2,000 header lines by default and drops the rest silently: an Origin or a second
  // Host after 2,000 others would never be seen. No count limit; the 16 KiB header size limit bounds them.
  app.server.maxHeadersCount = 0;
  app.server.on('connection', (socket) => {
    // Not the peer: drop before a byte is parsed. The onRequest hook below answers the same for inject().
    if (!isPeer(socket.remoteAddress)) socket.destroy();
  });

  // JSON only, strict UTF-8: drop the text/plain parser fastify registers by default.
  app.removeContentTypeParser('text/plain');
  installStrictJson(app);

  app.decorate('rpcQueue', queue);

  app.addHook('onRequest', async (request, reply) => {
    if (!isPeer(request.socket.remoteAddress)) return sendError(reply, new OnepadError('PEER_REFUSED'));
    // Not the laptop's own software: a web page (DNS rebinding, a form) or a request naming another host.
    const web = webRefusal(
      request.raw.url,
      request.headers,
      {
        // Bound to a wildcard (simulated only): the address the client connected to.
        address: wildcard ? plainAddress(request.socket.localAddress ?? '') : config.link.address,
        port: request.socket.localPort ?? config.link.port,
      },
      request.raw.rawHeaders,
    );
    if (web) return sendError(reply, web);
    if (queue.isClosed) return sendError(reply, new OnepadError('SHUTTING_DOWN'));
    return undefined;
  });

  app.addHook('preClose', async () => {
    await queue.shutdown();
  });

  installErrorHandlers(app);

  /** Open a session (through the queue: it waits for the owner), or package frames in one (no wait, no queue). */
  async function sessionPackage(
    body: PackageRequest | OpenSessionRequest | SessionPackageRequest,
    reply: FastifyReply,
  ): Promise<OpenSessionResponse | SessionPackageResponse> {
    if (!engine.openSession || !engine.sessionPackage || !engine.endSession) {
      throw new OnepadError('SESSION_UNAVAILABLE', { reason: 'no-screen' });
    }
    if ('session' in body) {
      const ask = (body as OpenSessionRequest).session;
      const open = engine.openSession.bind(engine);
      const gone = clientGone(reply);
      try {
        const session = await queue.run((signal) => open(body.contact, ask, signal), gone.signal);
        return { session };
      } finally {
        gone.done();
      }
    }
    const b = body as SessionPackageRequest;
    const running = engine.runningSessions?.().find((x) => x.id === b.sessionId);
    if (running && running.contact !== b.contact) {
      throw new OnepadError('INVALID_ARGUMENT', { argument: 'contact' }, 'the session is for another contact');
    }
    const frames = b.frames.map((f) => decodeBase64(f, 'frames'));
    try {
      const r = engine.sessionPackage(b.sessionId, frames);
      const session = b.end && r.session.state === 'running' ? engine.endSession(b.sessionId) : r.session;
      return { packages: r.packages.map(encodeBase64), session };
    } finally {
      for (const f of frames) f.fill(0);
    }
  }

  app.post<{ Body: PackageRequest }>(
    '/package',
    { schema: packageRouteSchema(limits) },
    async (request, reply): Promise<PackageResponse | OpenSessionResponse | SessionPackageResponse> => {
      const body = request.body;
      if ('session' in body || 'sessionId' in body) return sessionPackage(body, reply);
      const plaintext =
        typeof body.text === 'string' ? encodeText(body.text, 'text') : decodeBase64(body.bytes ?? '', 'bytes');
      if (plaintext.length > limits.maxMessageLength) {
        throw new OnepadError('MESSAGE_TOO_LONG', { length: plaintext.length, max: limits.maxMessageLength });
      }
      const gone = clientGone(reply);
      try {
        const r = await queue.run((signal) => engine.package(body.contact, plaintext, signal), gone.signal);
        return {
          package: encodeBase64(r.package),
          contact: r.contact,
          padId: r.padId,
          cost: r.cost,
          insecure: r.insecure,
          remaining: r.remaining,
          maxMessageLength: r.maxMessageLength,
          messagesLeft: r.messagesLeft,
        };
      } finally {
        gone.done();
        plaintext.fill(0);
      }
    },
  );

  app.post<{ Body: UnpackageRequest }>(
    '/unpackage',
    { schema: unpackageRouteSchema(limits) },
    async (request, reply): Promise<UnpackageResponse | SessionUnpackageResponse> => {
      if ('sessionId' in request.body) {
        const b = request.body as unknown as SessionUnpackageRequest;
        if (!engine.sessionUnpackage) throw new OnepadError('SESSION_UNAVAILABLE', { reason: 'no-screen' });
        const r = engine.sessionUnpackage(
          b.sessionId,
          b.packages.map((p) => decodeBase64(p, 'packages')),
        );
        const frames = r.frames.map((f) => {
          const out = { bytes: encodeBase64(f.plaintext), gaps: f.gaps.map((g) => ({ ...g })), late: f.late };
          f.plaintext.fill(0);
          return out;
        });
        return { frames, session: r.session };
      }
      const bytes = decodeBase64(request.body.package, 'package');
      const gone = clientGone(reply);
      try {
        const r = await queue.run((signal) => engine.unpackage(bytes, signal), gone.signal);
        const text = r.plaintext === null ? null : decodeTextOrNull(r.plaintext);
        const response: UnpackageResponse = {
          contact: r.contact,
          padId: r.padId,
          length: r.length,
          text,
          bytes: r.plaintext !== null && text === null ? encodeBase64(r.plaintext) : null,
          shownOnDeviceOnly: r.plaintext === null,
          gaps: r.gaps.map((g) => ({ start: g.start, end: g.end })),
          late: r.late,
          insecure: r.insecure,
          remaining: r.remaining,
          maxMessageLength: r.maxMessageLength,
          messagesLeft: r.messagesLeft,
        };
        r.plaintext?.fill(0);
        return response;
      } finally {
        gone.done();
      }
    },
  );

  return app as unknown as RpcServer;
}

/**
 * Bind the server to `link.address:link.port` and nothing else.
 *
 * @param opts.simulated - the device is simulated: a wildcard address is then allowed (for development only)
 * @param opts.port - override `link.port` (tests pass 0 for any free port)
 * @returns the bound address and port
 * @throws OnepadError LINK_ADDRESS_REFUSED when the address is not one unicast host address (rpc/link-address.ts:
 *   a wildcard is allowed only on a simulated device; mapped, multicast, broadcast forms never, nor the broadcast
 *   or network address of a subnet configured on the machine now)
 */
export async function listen(
  app: FastifyInstance,
  link: Config['link'],
  opts: { simulated: boolean; port?: number },
): Promise<{ address: string; port: number }> {
  const host = link.address;
  checkLinkAddress(
    host,
    opts.simulated,
    Object.values(networkInterfaces())
      .flat()
      .filter((i) => i !== undefined),
  );
  await app.listen({ host, port: opts.port ?? link.port, listenTextResolver: () => 'listening on the link' });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new OnepadError('INTERNAL');
  return { address: addr.address, port: addr.port };
}
