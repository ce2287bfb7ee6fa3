import { afterEach, describe, expect, it, vi } from 'vitest';
import { Emitter } from '../util/Emitter';
import { decodeBase64, encodeBase64 } from '../util/base64';
import { AgentClient, AgentError, hostAgentChannel, type AgentChannel, type DroppedMessage } from './AgentClient';
import type { ContainerInfo, Request } from './protocol';

const encoder = new TextEncoder();

const INFO: ContainerInfo = {
  name: 'web', state: 'running', template: 'busybox', hostname: 'web', ip: '10.0.1.5/16',
  memory: 33554432, pids: 64, cpus: 0.5, privileged: false, init_pid: 412, frozen: false, created: 1700000000,
};

/** Plays the guest's side of the channel: records the client's requests, sends what a test says. */
class FakeGuest implements AgentChannel {
  private readonly emitter = new Emitter<Uint8Array>();
  readonly onData = this.emitter.event;
  readonly requests: Request[] = [];
  readonly writes: Uint8Array[] = [];

  write(data: Uint8Array): void {
    this.writes.push(data);
    const text = new TextDecoder().decode(data);
    expect(text.endsWith('\n')).toBe(true);
    for (const line of text.split('\n').filter(Boolean)) this.requests.push(JSON.parse(line) as Request);
  }

  /** The latest request, checking its op. */
  last(op: string): Request & { args: Record<string, unknown> } {
    const request = this.requests.at(-1);
    expect(request?.op).toBe(op);
    return request as Request & { args: Record<string, unknown> };
  }

  send(data: string | Uint8Array): void {
    this.emitter.fire(typeof data === 'string' ? encoder.encode(data) : data);
  }

  lines(...messages: object[]): string {
    return messages.map((message) => JSON.stringify(message) + '\n').join('');
  }

  sendMessages(...messages: object[]): void {
    this.send(this.lines(...messages));
  }

  reply(request: Request, result: object): void {
    this.sendMessages({ id: request.id, ok: true, result });
  }

  fail(request: Request, code: string, message: string): void {
    this.sendMessages({ id: request.id, ok: false, error: { code, message } });
  }
}

function setup(options?: { timeoutMs?: number }) {
  const guest = new FakeGuest();
  const client = new AgentClient(guest, options);
  const dropped: DroppedMessage[] = [];
  client.onProtocolError((d) => dropped.push(d));
  return { guest, client, dropped };
}

async function rejection(promise: Promise<unknown>): Promise<AgentError> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('AgentClient requests', () => {
  it('sends one JSON line per request and matches replies by id, in any order', async () => {
    const { guest, client } = setup();
    const start = client.start('a');
    const status = client.status('b');
    const list = client.list();
    expect(guest.requests).toEqual([
      { id: 1, op: 'start', args: { name: 'a' } },
      { id: 2, op: 'status', args: { name: 'b' } },
      { id: 3, op: 'list' },
    ]);
    guest.reply(guest.requests[2]!, { containers: [INFO] });
    guest.reply(guest.requests[1]!, { ...INFO, name: 'b' });
    guest.reply(guest.requests[0]!, { ...INFO, name: 'a' });
    expect(await start).toEqual({ ...INFO, name: 'a' });
    expect(await status).toEqual({ ...INFO, name: 'b' });
    expect(await list).toEqual([INFO]);
  });

  it('sends each op’s documented args', async () => {
    const { guest, client } = setup();
    const answer = (result: object = INFO) => guest.reply(guest.requests.at(-1)!, result);

    const created = client.create({ name: 'web', memory: 32 << 20, ip: '10.0.1.5/16', privileged: false });
    expect(guest.last('create').args).toEqual({ name: 'web', memory: 32 << 20, ip: '10.0.1.5/16', privileged: false });
    answer();
    await created;

    const stopped = client.stop('web', { timeout: 5 });
    expect(guest.last('stop').args).toEqual({ name: 'web', timeout: 5 });
    answer();
    await stopped;

    const killed = client.kill('web', 'TERM');
    expect(guest.last('kill').args).toEqual({ name: 'web', signal: 'TERM' });
    answer();
    await killed;

    const restarted = client.restart('web');
    expect(guest.last('restart').args).toEqual({ name: 'web' });
    answer();
    await restarted;

    const limited = client.set('web', { memory: null, pids: 10 });
    expect(guest.last('set').args).toEqual({ name: 'web', memory: null, pids: 10 });
    answer();
    await limited;

    const destroyed = client.destroy('web', { force: true });
    expect(guest.last('destroy').args).toEqual({ name: 'web', force: true });
    answer({});
    expect(await destroyed).toBeUndefined();

    const pinged = client.ping();
    expect(guest.requests.at(-1)).toEqual({ id: guest.requests.length, op: 'ping' });
    answer({});
    expect(await pinged).toBeUndefined();

    const logs = client.logs('web');
    expect(guest.last('logs').args).toEqual({ name: 'web' });
    answer({ data: encodeBase64(encoder.encode('booted\r\n')) });
    expect(new TextDecoder().decode(await logs)).toBe('booted\r\n');
  });

  it('gives host_configure the migration key when there is one, and refuses a malformed key unsent', async () => {
    const { guest, client } = setup();
    const identity = { hostname: 'node1', mac: '02:43:0a:00:00:01', address: '10.0.0.1/16' };
    let call = client.configureHost(identity);
    expect(guest.last('host_configure').args).toEqual(identity);
    guest.reply(guest.last('host_configure'), identity);
    expect(await call).toEqual(identity);
    call = client.configureHost(identity, { migrateKey: 'ab_-9Z' });
    expect(guest.last('host_configure').args).toEqual({ ...identity, migrate_key: 'ab_-9Z' });
    guest.reply(guest.last('host_configure'), identity);
    await call;
    const sent = guest.requests.length;
    for (const bad of ['a b', 'x'.repeat(65), '../k', 'é']) {
      expect((await rejection(client.configureHost(identity, { migrateKey: bad }))).code).toBe('invalid_argument');
    }
    expect(guest.requests.length).toBe(sent);
  });

  it('reads lines split anywhere, even inside a multi-byte UTF-8 character', async () => {
    const { guest, client, dropped } = setup();
    const hostname = 'wëb-☃-😀';
    const statuses = [client.status('web'), client.status('web')];
    const bytes = encoder.encode(guest.lines(
      { id: 1, ok: true, result: { ...INFO, hostname } },
      { id: 2, ok: true, result: { ...INFO, hostname: `${hostname}2` } },
    ));
    for (let i = 0; i < bytes.length; i++) guest.send(bytes.subarray(i, i + 1)); // one byte at a time
    expect((await statuses[0]!).hostname).toBe(hostname);
    expect((await statuses[1]!).hostname).toBe(`${hostname}2`);

    // And at every split point of a line, in two chunks.
    const line = encoder.encode(guest.lines({ event: 'state', name: hostname, state: 'running' }));
    const names: string[] = [];
    client.onStateChange((event) => names.push(event.name));
    for (let split = 1; split < line.length; split++) {
      guest.send(line.slice(0, split));
      guest.send(line.slice(split));
    }
    expect(names).toEqual(Array(line.length - 1).fill(hostname));
    expect(dropped).toEqual([]);
  });

  it('reads several messages from one chunk, and a line ending in \\r\\n', async () => {
    const { guest, client } = setup();
    const hellos: unknown[] = [];
    const states: unknown[] = [];
    client.onHello((hello) => hellos.push(hello));
    client.onStateChange((state) => states.push(state));
    const status = client.status('web');
    guest.send(guest.lines(
      { event: 'hello', protocol: 1, hostname: 'ctlab' },
      { event: 'state', name: 'web', state: 'stopped', exit_code: 0 },
      { id: 1, ok: true, result: INFO },
    ).replace(/\n$/, '\r\n') + '{"event":"state","name":"db","state":"destroyed"}\n');
    expect(await status).toEqual(INFO);
    expect(hellos).toEqual([{ event: 'hello', protocol: 1, hostname: 'ctlab' }]);
    expect(client.hello).toEqual({ event: 'hello', protocol: 1, hostname: 'ctlab' });
    expect(states).toEqual([
      { event: 'state', name: 'web', state: 'stopped', exit_code: 0 },
      { event: 'state', name: 'db', state: 'destroyed' },
    ]);
  });

  it('delivers stats events', () => {
    const { guest, client } = setup();
    const seen: string[][] = [];
    client.onStats((event) => seen.push(event.containers.map((c) => c.name)));
    const stats = {
      name: 'web', memory: { current: 1, max: null, peak: 2, oom_kills: 0 }, pids: { current: 1, max: null, refused: 0 },
      cpu: { usage_usec: 1, user_usec: 1, system_usec: 0, nr_periods: 0, nr_throttled: 0, throttled_usec: 0 },
      frozen: false,
    };
    guest.sendMessages({ event: 'stats', containers: [stats, { ...stats, name: 'db' }] });
    expect(seen).toEqual([['web', 'db']]);
  });

  it('turns error replies into AgentErrors carrying the agent’s code and message', async () => {
    const { guest, client } = setup();
    const start = client.start('web');
    guest.fail(guest.last('start'), 'not_found', 'no container named "web"');
    const err = await rejection(start);
    expect(err.code).toBe('not_found');
    expect(err.op).toBe('start');
    expect(err.message).toBe('no container named "web"');
    expect(err.name).toBe('AgentError');
  });

  it('times out a call (30 s by default, per call on request) and ignores its late reply', async () => {
    vi.useFakeTimers();
    const { guest, client, dropped } = setup();
    const slow = client.status('web');
    const quick = client.status('web', { timeoutMs: 100 });
    const slowError = rejection(slow);
    const quickError = rejection(quick);
    await vi.advanceTimersByTimeAsync(100);
    const err = await quickError;
    expect(err.code).toBe('timeout');
    expect(err.op).toBe('status');
    await vi.advanceTimersByTimeAsync(29_899);
    guest.reply(guest.requests[1]!, INFO); // late: dropped silently
    await vi.advanceTimersByTimeAsync(1);
    expect((await slowError).code).toBe('timeout');
    expect(dropped).toEqual([]);

    const next = client.ping();
    guest.reply(guest.last('ping'), {});
    await next;
  });

  it('gives exec and stop at least their own timeout plus slack', async () => {
    vi.useFakeTimers();
    const { guest, client } = setup();
    const exec = client.exec('web', ['sleep', '50'], { timeout: 60 });
    expect(guest.last('exec').args).toEqual({ name: 'web', argv: ['sleep', '50'], timeout: 60 });
    await vi.advanceTimersByTimeAsync(65_000);
    guest.reply(guest.last('exec'), { exit_code: 0, stdout: '', stderr: '' });
    expect((await exec).exitCode).toBe(0);
  });

  it('drops and counts malformed lines, and keeps working', async () => {
    const { guest, client, dropped } = setup();
    const states: string[] = [];
    client.onStateChange((event) => states.push(event.name));
    guest.send('this is not json\n');
    guest.send('{"event":"state","name":5,"state":"running"}\n'); // JSON, wrong shape
    guest.send('[1,2,3]\n');
    guest.sendMessages({ id: 99, ok: true, result: {} }); // no such request
    guest.sendMessages({ id: null, ok: false, error: { code: 'bad_request', message: 'malformed JSON' } });
    guest.send('\n\n'); // blank lines are not messages
    expect(client.malformedCount).toBe(5);
    expect(dropped.map((d) => d.malformedCount)).toEqual([1, 2, 3, 4, 5]);
    expect(dropped[0]).toEqual({ reason: 'not JSON', line: 'this is not json', malformedCount: 1 });
    expect(dropped[1]!.reason).toBe('message.name: expected a string, got 5');
    expect(dropped[3]!.reason).toMatch(/no pending request \(id 99\)/);
    expect(dropped[4]!.reason).toMatch(/bad_request: malformed JSON/);

    const status = client.status('web');
    guest.sendMessages({ event: 'state', name: 'web', state: 'running' });
    guest.reply(guest.last('status'), INFO);
    expect(await status).toEqual(INFO);
    expect(states).toEqual(['web']);
    expect(client.malformedCount).toBe(5);
  });

  it('fails a call at once when its reply is malformed', async () => {
    const { guest, client, dropped } = setup();
    const status = client.status('web');
    guest.reply(guest.last('status'), { ...INFO, state: 'paused' });
    const err = await rejection(status);
    expect(err.code).toBe('bad_reply');
    expect(err.message).toMatch(/result\.state/);

    const list = client.list();
    guest.sendMessages({ id: guest.last('list').id, ok: false, error: { code: 'no_such_code', message: '?' } });
    expect((await rejection(list)).code).toBe('bad_reply');
    expect(client.malformedCount).toBe(2);
    expect(dropped).toHaveLength(2);
  });

  it('discards an endless line and reads on after its end', async () => {
    const { guest, client } = setup();
    const big = new Uint8Array(1024 * 1024).fill(0x61);
    for (let i = 0; i < 9; i++) guest.send(big);
    expect(client.malformedCount).toBe(0);
    guest.send('aaa\n');
    expect(client.malformedCount).toBe(1);
    const ping = client.ping();
    guest.reply(guest.last('ping'), {});
    await ping;
  });

  it('keeps reading after a listener throws', async () => {
    const { guest, client } = setup();
    const uncaught: unknown[] = [];
    const onError = (err: unknown) => uncaught.push(err);
    process.on('uncaughtException', onError);
    try {
      client.onHello(() => {
        throw new Error('listener bug');
      });
      const ping = client.ping();
      guest.send(guest.lines({ event: 'hello', protocol: 1, hostname: 'h' }, { id: 1, ok: true, result: {} }));
      await ping;
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(uncaught).toEqual([new Error('listener bug')]);
    } finally {
      process.off('uncaughtException', onError);
    }
  });

  it('refuses a request line the agent would discard', async () => {
    const { guest, client } = setup();
    const err = await rejection(client.exec('web', ['cat'], { stdin: new Uint8Array(60_000) }));
    expect(err.code).toBe('oversized');
    expect(guest.writes).toEqual([]);
  });

  it('rejects a call whose bytes cannot be written', async () => {
    const client = new AgentClient({
      write: () => { throw new Error('host web is stopped'); },
      onData: new Emitter<Uint8Array>().event,
    });
    const err = await rejection(client.ping());
    expect(err.code).toBe('channel');
    expect(err.message).toMatch(/host web is stopped/);
  });

  it('rejects every pending call when disposed, and every call after', async () => {
    const { guest, client } = setup();
    const calls = [client.ping(), client.list(), client.status('web')];
    const states: unknown[] = [];
    client.onStateChange((state) => states.push(state));
    client.dispose();
    for (const call of calls) {
      const err = await rejection(call);
      expect(err.code).toBe('disposed');
    }
    expect((await rejection(client.ping())).code).toBe('disposed');
    guest.sendMessages({ event: 'state', name: 'web', state: 'running' });
    expect(states).toEqual([]);
    expect(guest.requests).toHaveLength(3);
  });
});

describe('AgentClient.exec', () => {
  it('round-trips binary stdin, stdout and stderr through base64', async () => {
    const { guest, client } = setup();
    const stdin = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) % 256);
    const run = client.exec('web', ['tac'], { stdin, timeout: 5 });
    const request = guest.last('exec');
    expect(request.args.argv).toEqual(['tac']);
    expect(request.args.timeout).toBe(5);
    const received = decodeBase64(request.args.stdin as string);
    expect(received).toEqual(stdin);
    guest.reply(request, {
      exit_code: 3,
      stdout: encodeBase64(received.slice().reverse()),
      stderr: encodeBase64(Uint8Array.of(0, 255, 10)),
    });
    const result = await run;
    expect(result.exitCode).toBe(3);
    expect(result.stdout).toEqual(stdin.slice().reverse());
    expect(result.stderr).toEqual(Uint8Array.of(0, 255, 10));
  });

  it('encodes string stdin as UTF-8 and offers the output as text', async () => {
    const { guest, client } = setup();
    const run = client.execText('web', ['sh', '-c', 'cat; echo oops >&2'], { stdin: 'héllo ☃\n' });
    const request = guest.last('exec');
    expect(new TextDecoder().decode(decodeBase64(request.args.stdin as string))).toBe('héllo ☃\n');
    expect('timeout' in request.args).toBe(false);
    guest.reply(request, {
      exit_code: 0,
      stdout: encodeBase64(encoder.encode('héllo ☃\n')),
      stderr: encodeBase64(encoder.encode('oops\n')),
    });
    expect(await run).toEqual({ exitCode: 0, stdout: 'héllo ☃\n', stderr: 'oops\n' });
  });
});

describe('AgentClient terminals', () => {
  async function open(guest: FakeGuest, client: AgentClient, session: number, after = '') {
    const opening = client.openTerminal('web', { cols: 80, rows: 24 });
    expect(guest.last('tty_open').args).toEqual({ name: 'web', cols: 80, rows: 24 });
    // The reply and the shell's first output in one chunk: nothing may be lost.
    guest.send(guest.lines({ id: guest.last('tty_open').id, ok: true, result: { session } }) + after);
    return opening;
  }

  const tty = (session: number, text: string) => ({ event: 'tty', session, data: encodeBase64(encoder.encode(text)) });

  it('routes output by session id, keeping what arrives before anyone listens', async () => {
    const { guest, client } = setup();
    const a = await open(guest, client, 3, JSON.stringify(tty(3, '/ # ')) + '\n');
    const b = await open(guest, client, 4);
    expect(a.session).toBe(3);
    expect(a.container).toBe('web');
    const outA: string[] = [];
    const outB: string[] = [];
    a.onData((data) => outA.push(new TextDecoder().decode(data)));
    b.onData((data) => outB.push(new TextDecoder().decode(data)));
    guest.sendMessages(tty(4, 'b1'), tty(3, 'a1'), tty(9, 'nobody'), tty(4, 'b2'));
    expect(outA).toEqual(['/ # ', 'a1']);
    expect(outB).toEqual(['b1', 'b2']);
    expect(client.malformedCount).toBe(0);
  });

  it('sends input, resizes and close as requests for its session', async () => {
    const { guest, client } = setup();
    const term = await open(guest, client, 5);
    term.write('ls\r');
    expect(guest.last('tty_input').args).toEqual({ session: 5, data: encodeBase64(encoder.encode('ls\r')) });
    guest.reply(guest.last('tty_input'), {});
    term.write(Uint8Array.of(3));
    expect(guest.last('tty_input').args).toEqual({ session: 5, data: 'Aw==' });
    guest.fail(guest.last('tty_input'), 'not_found', 'no session 5'); // swallowed: keystrokes are fire-and-forget
    term.write(new Uint8Array(70_000)); // a paste: split so each line stays under the limit
    const inputs = guest.requests.slice(-3).map((r) => decodeBase64((r.args as { data: string }).data).length);
    expect(inputs).toEqual([32768, 32768, 70_000 - 65536]);
    term.resize(120, 40);
    expect(guest.last('tty_resize').args).toEqual({ session: 5, cols: 120, rows: 40 });

    const closed = term.close();
    expect(guest.last('tty_close').args).toEqual({ session: 5 });
    guest.reply(guest.last('tty_close'), {});
    await closed;
    const sent = guest.requests.length;
    term.write('after close');
    expect(guest.requests).toHaveLength(sent);
    guest.sendMessages(tty(5, 'late')); // no longer routed, not malformed
    expect(client.malformedCount).toBe(0);
  });

  it('reports the shell’s exit, also to a listener that comes later', async () => {
    const { guest, client } = setup();
    const term = await open(guest, client, 6);
    const codes: number[] = [];
    term.onExit((code) => codes.push(code));
    guest.sendMessages({ event: 'tty_exit', session: 6, exit_code: 130 });
    expect(codes).toEqual([130]);
    expect(term.exitCode).toBe(130);
    term.onExit((code) => codes.push(code + 1));
    expect(codes).toEqual([130, 131]);
    const sent = guest.requests.length;
    term.write('x');
    await term.close(); // already gone: nothing to ask the agent
    expect(guest.requests).toHaveLength(sent);
  });

  it('ends sessions locally when the client is disposed', async () => {
    const { guest, client } = setup();
    const term = await open(guest, client, 7);
    const out: Uint8Array[] = [];
    term.onData((data) => out.push(data));
    client.dispose();
    guest.sendMessages(tty(7, 'x'));
    expect(out).toEqual([]);
  });
});

describe('AgentClient.ready', () => {
  it('resolves at once after a hello', async () => {
    const { guest, client } = setup();
    guest.sendMessages({ event: 'hello', protocol: 1, hostname: 'ctlab' });
    await client.ready();
    expect(guest.requests).toEqual([]);
  });

  it('pings, for an agent that said hello before the client existed', async () => {
    const { guest, client } = setup();
    const ready = client.ready();
    guest.reply(guest.last('ping'), {});
    await ready;
  });

  it('resolves on a hello that comes while the ping is unanswered', async () => {
    const { guest, client } = setup();
    const ready = client.ready();
    expect(guest.last('ping')).toBeDefined();
    guest.sendMessages({ event: 'hello', protocol: 1, hostname: 'ctlab' });
    await ready;
  });

  it('rejects when the agent stays silent', async () => {
    vi.useFakeTimers();
    const { client } = setup();
    const ready = rejection(client.ready({ timeoutMs: 1000 }));
    await vi.advanceTimersByTimeAsync(1000);
    expect((await ready).code).toBe('timeout');
  });
});

describe('hostAgentChannel', () => {
  it('connects a client to a host’s agent data and writes', async () => {
    const data = new Emitter<Uint8Array>();
    const written: string[] = [];
    const host = { onAgentData: data.event, writeAgent: (bytes: Uint8Array) => written.push(new TextDecoder().decode(bytes)) };
    const client = new AgentClient(hostAgentChannel(host));
    const ping = client.ping();
    expect(written).toEqual(['{"id":1,"op":"ping"}\n']);
    data.fire(encoder.encode('{"id":1,"ok":true,"result":{}}\n'));
    await ping;
  });
});

describe('AgentClient checkpoint images', () => {
  const REPORT = { image: 'web-0a1b2c3d', name: 'web', processes: 3, pages: 100, fs_bytes: 12, image_bytes: 5000, frozen_ms: 80, total_ms: 120 };

  /** Bytes that start like an image: the magic, then anything. */
  function imageBytes(length: number): Uint8Array {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = (i * 7) & 0xff;
    bytes.set(encoder.encode('CTLABCR\0'));
    return bytes;
  }

  it('checkpoints with leave_running and routes progress events to the call', async () => {
    const { guest, client } = setup();
    const phases: string[] = [];
    const all: string[] = [];
    client.onProgress((e) => all.push(`${e.request}:${e.phase}`));
    const done = client.checkpoint('web', { leaveRunning: true, onProgress: (p) => phases.push(p) });
    const request = guest.last('checkpoint');
    expect(request.args).toEqual({ name: 'web', leave_running: true });
    guest.sendMessages(
      { event: 'progress', request: request.id, op: 'checkpoint', name: 'web', phase: 'freezing' },
      { event: 'progress', request: 999, op: 'checkpoint', name: 'other', phase: 'memory' },
      { event: 'progress', request: request.id, op: 'checkpoint', name: 'web', phase: 'memory' },
    );
    guest.reply(request, REPORT);
    expect(await done).toEqual(REPORT);
    expect(phases).toEqual(['freezing', 'memory']);
    expect(all).toEqual([`${request.id}:freezing`, '999:memory', `${request.id}:memory`]);
  });

  it('restores and checks the report', async () => {
    const { guest, client } = setup();
    const done = client.restore('web', 'upload-12345678');
    expect(guest.last('restore').args).toEqual({ name: 'web', image: 'upload-12345678' });
    guest.reply(guest.requests.at(-1)!, { ...REPORT, container: INFO });
    expect((await done).container).toEqual(INFO);

    const bad = client.restore('web', 'x');
    guest.reply(guest.requests.at(-1)!, REPORT); // no container
    expect((await rejection(bad)).code).toBe('bad_reply');
  });

  it.each(['../etc', '', 'A', 'a/b', '-x', 'x'.repeat(49), 'a b'])('refuses the image id %j without asking the agent', async (id) => {
    const { guest, client } = setup();
    for (const call of [() => client.restore('web', id), () => client.downloadImage(id), () => client.deleteImage(id)]) {
      expect((await rejection(call())).code).toBe('invalid_argument');
    }
    expect(guest.requests).toEqual([]);
  });

  it('downloads an image in chunks until it has its size', async () => {
    const { guest, client } = setup();
    const image = imageBytes(100_000);
    const progress: number[] = [];
    const done = client.downloadImage('web-0a1b2c3d', { onProgress: (n) => progress.push(n) });
    for (let offset = 0; offset < image.length; offset += 48 * 1024) {
      await vi.waitFor(() => expect(guest.requests.length).toBeGreaterThan(offset / (48 * 1024)));
      const request = guest.last('image_read');
      expect(request.args).toEqual({ image: 'web-0a1b2c3d', offset, length: 48 * 1024 });
      guest.reply(request, { data: encodeBase64(image.subarray(offset, offset + 48 * 1024)), size: image.length });
    }
    expect(await done).toEqual(image);
    expect(progress).toEqual([49152, 98304, 100000]);
  });

  it('fails a download whose image ends early', async () => {
    const { guest, client } = setup();
    const done = client.downloadImage('web-0a1b2c3d');
    guest.reply(guest.last('image_read'), { data: encodeBase64(imageBytes(10)), size: 20 });
    await vi.waitFor(() => expect(guest.requests).toHaveLength(2));
    guest.reply(guest.last('image_read'), { data: '', size: 20 });
    expect((await rejection(done)).message).toMatch(/ended at 10 of 20 bytes/);
  });

  it('uploads in chunks that fit the line limit', async () => {
    const { guest, client } = setup();
    const image = imageBytes(100_000);
    const done = client.uploadImage(image);
    guest.reply(guest.last('image_create'), { image: 'upload-00000001' });
    const received = new Uint8Array(image.length);
    let size = 0;
    while (size < image.length) {
      await vi.waitFor(() => expect(guest.requests.at(-1)?.op === 'image_write' && (guest.requests.at(-1)!.args as { offset: number }).offset === size).toBe(true));
      const { args } = guest.last('image_write');
      expect(args.image).toBe('upload-00000001');
      const data = decodeBase64(args.data as string);
      received.set(data, args.offset as number);
      size = (args.offset as number) + data.length;
      guest.reply(guest.requests.at(-1)!, { size });
    }
    expect(await done).toBe('upload-00000001');
    expect(received).toEqual(image);
    for (const write of guest.writes) expect(write.length).toBeLessThan(65536);
  });

  it('deletes a failed upload and refuses what is not an image', async () => {
    const { guest, client } = setup();
    const done = client.uploadImage(imageBytes(300));
    guest.reply(guest.last('image_create'), { image: 'upload-00000002' });
    await vi.waitFor(() => expect(guest.requests).toHaveLength(2));
    guest.fail(guest.last('image_write'), 'invalid_argument', 'an image may hold at most 64 MiB');
    await vi.waitFor(() => expect(guest.requests).toHaveLength(3));
    expect(guest.last('image_delete').args).toEqual({ image: 'upload-00000002' });
    guest.reply(guest.requests.at(-1)!, {});
    expect((await rejection(done)).message).toBe('an image may hold at most 64 MiB');

    const before = guest.requests.length;
    expect((await rejection(client.uploadImage(encoder.encode('hello world, not an image at all'.repeat(10))))).message).toMatch(/not a ctlab checkpoint image/);
    expect((await rejection(client.uploadImage(new Uint8Array(0)))).code).toBe('invalid_argument');
    expect((await rejection(client.uploadImage(new Uint8Array(64 * 1024 * 1024 + 1)))).code).toBe('invalid_argument');
    expect(guest.requests).toHaveLength(before);
  });
});

describe('AgentClient migrate', () => {
  const REPORT = {
    name: 'web', dest: '10.0.0.2', rounds: 2, round_bytes: [1245184, 40960], final_bytes: 81234,
    pages_referenced: 290, frozen_ms: 410, confirmed_ms: 418, total_ms: 2950, processes: 3, pages: 312, fs_bytes: 0,
  };

  it('sends name and dest, routes the migration phases to the call and returns the typed report', async () => {
    const { guest, client } = setup();
    const phases: string[] = [];
    const done = client.migrate('web', '10.0.0.2', { onProgress: (p) => phases.push(p) });
    const request = guest.last('migrate');
    expect(request.args).toEqual({ name: 'web', dest: '10.0.0.2' });
    const progress = (phase: string, id = request.id) => ({ event: 'progress', request: id, op: 'migrate', name: 'web', phase });
    guest.sendMessages(
      progress('connecting'), progress('pre-copy 1'), progress('pre-copy 2'), progress('memory', 999),
      progress('freezing'), progress('restoring'), progress('committing'), progress('cleaning up'),
    );
    guest.reply(request, REPORT);
    expect(await done).toEqual(REPORT);
    expect(phases).toEqual(['connecting', 'pre-copy 1', 'pre-copy 2', 'freezing', 'restoring', 'committing', 'cleaning up']);
  });

  it('rejects with the guest\'s error, and a report of the wrong shape as bad_reply', async () => {
    const { guest, client } = setup();
    const refused = client.migrate('web', 'bad dest!');
    guest.fail(guest.last('migrate'), 'invalid_argument', 'invalid destination "bad dest!"');
    const err = await rejection(refused);
    expect(err.code).toBe('invalid_argument');
    expect(err.message).toMatch(/invalid destination/);

    const malformed = client.migrate('web', 'node2');
    guest.reply(guest.last('migrate'), { ...REPORT, round_bytes: ['x'] });
    expect((await rejection(malformed)).code).toBe('bad_reply');
  });

  it('asks a migration to stop, and settles one left in doubt', async () => {
    const { guest, client } = setup();
    const abort = client.migrateAbort('web');
    expect(guest.last('migrate_abort').args).toEqual({ name: 'web' });
    guest.reply(guest.last('migrate_abort'), {});
    await abort;
    const resolve = client.migrateResolve('web', { dest: '10.0.0.2' });
    expect(guest.last('migrate_resolve').args).toEqual({ name: 'web', dest: '10.0.0.2' });
    guest.reply(guest.last('migrate_resolve'), { name: 'web', outcome: 'resumed' });
    expect(await resolve).toEqual({ name: 'web', outcome: 'resumed' });
    const odd = client.migrateResolve('web', { resume: true });
    expect(guest.last('migrate_resolve').args).toEqual({ name: 'web', resume: true });
    guest.reply(guest.last('migrate_resolve'), { name: 'web', outcome: 'maybe' });
    expect((await rejection(odd)).code).toBe('bad_reply');
  });

  it('waits longer than an ordinary call for a migration', async () => {
    vi.useFakeTimers();
    const { guest, client } = setup({ timeoutMs: 1000 });
    const done = client.migrate('web', '10.0.0.2');
    vi.advanceTimersByTime(60_000);
    guest.reply(guest.last('migrate'), REPORT);
    expect((await done).frozen_ms).toBe(410);
  });
});
