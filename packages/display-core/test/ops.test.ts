import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import { chooseLogFormat, createProcessLogger, logUnhandledRejections, OpsServer, passwordMatches, presentedPassword, sendText, ServerMetrics } from '../src/index.js';
import type { IncomingMessage } from 'node:http';

describe('process logger', () => {
  const at = new Date('2025-01-02T03:04:05.678Z');
  function capture(format: 'json' | 'text', verbose = false) {
    const lines: string[] = [];
    const log = createProcessLogger({ process: 'qemu-vnc', format, verbose, now: () => at, stream: { write: (t: string) => lines.push(t) } });
    return { log, lines };
  }

  it('writes one JSON object per line, with the message as a person reads it', () => {
    const { log, lines } = capture('json');
    log('info', 'client 1 (127.0.0.1): "quoted" closed');
    expect(lines).toEqual([`{"time":"2025-01-02T03:04:05.678Z","level":"info","process":"qemu-vnc","msg":"client 1 (127.0.0.1): \\"quoted\\" closed"}\n`]);
    expect(JSON.parse(lines[0])).toEqual({ time: at.toISOString(), level: 'info', process: 'qemu-vnc', msg: 'client 1 (127.0.0.1): "quoted" closed' });
  });

  it('writes "process: level: message" on a terminal, and debug lines only when verbose', () => {
    const quiet = capture('text');
    quiet.log('debug', 'hidden');
    quiet.log('warn', 'lost the bus');
    expect(quiet.lines).toEqual(['qemu-vnc: warn: lost the bus\n']);
    const verbose = capture('text', true);
    verbose.log('debug', 'shown');
    expect(verbose.lines).toEqual(['qemu-vnc: debug: shown\n']);
  });

  it('is JSON unless stderr is a terminal; VDI_LOG_FORMAT overrides', () => {
    expect(chooseLogFormat(undefined, false)).toBe('json');
    expect(chooseLogFormat(undefined, true)).toBe('text');
    expect(chooseLogFormat('auto', true)).toBe('text');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('text', false)).toBe('text');
    expect(chooseLogFormat('yaml', false)).toBe('json');
  });

  it('logs an unhandled rejection with its stack instead of ending the process', () => {
    const { log, lines } = capture('text');
    const proc = new EventEmitter();
    logUnhandledRejections(log, proc as unknown as NodeJS.Process);
    const err = new Error('Cannot send message, stream is closed');
    proc.emit('unhandledRejection', err, Promise.resolve());
    proc.emit('unhandledRejection', 'a bare string', Promise.resolve());
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^qemu-vnc: error: unhandled promise rejection \(a bug; going on\): Error: Cannot send message, stream is closed\n {4}at /);
    expect(lines[1]).toBe('qemu-vnc: error: unhandled promise rejection (a bug; going on): a bare string\n');
  });
});

describe('HTTP credentials', () => {
  const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as IncomingMessage;

  it('takes the password from Basic (any user) or Bearer', () => {
    expect(presentedPassword(req(`Basic ${Buffer.from('anyone:se:cret').toString('base64')}`))).toBe('se:cret');
    expect(presentedPassword(req('Bearer s3cret'))).toBe('s3cret');
    expect(presentedPassword(req('Digest abc'))).toBeUndefined();
    expect(presentedPassword(req())).toBeUndefined();
  });

  it('compares whole passwords', () => {
    expect(passwordMatches('s3cret', 's3cret')).toBe(true);
    expect(passwordMatches('s3cre', 's3cret')).toBe(false);
    expect(passwordMatches(undefined, 's3cret')).toBe(false);
  });
});

describe('OpsServer', () => {
  let server: OpsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function start(ready: () => boolean, metrics?: ServerMetrics): Promise<string> {
    server = new OpsServer({
      readiness: () => (ready() ? { ready: true } : { ready: false, reason: 'no VM (yet)' }),
      metrics,
      routes: [
        (_req, res, url) => {
          if (url.pathname !== '/extra') return false;
          sendText(res, 200, `extra ${url.searchParams.get('x')}\n`);
          return true;
        },
      ],
    });
    await server.listen({ host: '127.0.0.1', port: 0 });
    return `http://127.0.0.1:${(server.http.address() as AddressInfo).port}`;
  }

  it('answers the probes, the extra routes, and 404 for anything else', async () => {
    let ready = false;
    const base = await start(() => ready);
    const get = async (path: string) => {
      const r = await fetch(base + path);
      return `${r.status} ${await r.text()}`;
    };
    expect(await get('/healthz')).toBe('200 ok\n');
    expect(await get('/readyz')).toBe('503 not ready: no VM (yet)\n');
    ready = true;
    expect(await get('/readyz')).toBe('200 ready\n');
    expect(await get('/extra?x=1')).toBe('200 extra 1\n');
    expect(await get('/metrics')).toBe('404 not found\n');
    expect(await get('/nothing')).toBe('404 not found\n');
  });

  it('serves the shared metrics with a protocol label', async () => {
    const metrics = new ServerMetrics({ processMetrics: false });
    const vnc = metrics.for('vnc');
    vnc.clientConnected();
    vnc.sent(1234);
    vnc.frameSent();
    vnc.encoded('zrle', 0.003);
    vnc.authFailed();
    metrics.for('rdp').sent(10);
    const base = await start(() => true, metrics);
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toContain('vdi_clients{protocol="vnc"} 1');
    expect(text).toContain('vdi_clients{protocol="rdp"} 0');
    expect(new ServerMetrics({ processMetrics: false }).registry.getSingleMetric('vdi_clients')).toBeDefined();
    expect(text).toContain('vdi_sent_bytes_total{protocol="vnc"} 1234');
    expect(text).toContain('vdi_sent_bytes_total{protocol="rdp"} 10');
    expect(text).toContain('vdi_frames_sent_total{protocol="vnc"} 1');
    expect(text).toContain('vdi_encode_seconds_count{protocol="vnc",encoding="zrle"} 1');
    expect(text).toContain('vdi_encode_seconds_bucket{le="0.005",protocol="vnc",encoding="zrle"} 1');
    expect(text).toContain('vdi_auth_failures_total{protocol="vnc"} 1');
  });
});
