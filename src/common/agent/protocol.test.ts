import { describe, expect, it } from 'vitest';
import { parseIncoming, parseResult, type ContainerInfo, type ContainerStats } from './protocol';

// The examples of docs/agent-protocol.md, verbatim.
const INFO: ContainerInfo = {
  name: 'web', state: 'running', template: 'busybox', hostname: 'web', ip: '10.0.1.5/16',
  memory: 33554432, pids: 64, cpus: 0.5, privileged: false, init_pid: 412, frozen: false, created: 1700000000,
};
const STATS: ContainerStats = {
  name: 'web', memory: { current: 1234, max: 33554432, peak: 2345, oom_kills: 0 },
  pids: { current: 2, max: 64, refused: 0 },
  cpu: { usage_usec: 1, user_usec: 1, system_usec: 0, nr_periods: 0, nr_throttled: 0, throttled_usec: 0 },
  frozen: false,
};

function problemOf(value: unknown): string | undefined {
  let problem: string | undefined;
  expect(parseIncoming(value, (reason) => (problem = reason))).toBeUndefined();
  return problem;
}

describe('parseIncoming', () => {
  it('accepts the documented replies and events', () => {
    const messages = [
      { event: 'hello', protocol: 1, hostname: 'ctlab' },
      { event: 'state', name: 'web', state: 'stopped', exit_code: 137 },
      { event: 'state', name: 'web', state: 'destroyed' },
      { event: 'stats', containers: [STATS] },
      { event: 'tty', session: 3, data: 'aGk=' },
      { event: 'tty_exit', session: 3, exit_code: 0 },
      { event: 'progress', request: 7, op: 'checkpoint', name: 'web', phase: 'freezing' },
      { id: 7, ok: true, result: INFO },
      { id: 7, ok: false, error: { code: 'not_found', message: 'no container named "web"' } },
      { id: null, ok: false, error: { code: 'oversized', message: 'line too long' } },
      { id: 8, ok: false, error: { code: 'bad_image', message: 'record 3 (PAGES) is corrupt (checksum mismatch)' } },
    ];
    for (const message of messages) expect(parseIncoming(JSON.parse(JSON.stringify(message)))).toEqual(message);
  });

  it('returns fresh objects with only the documented fields', () => {
    const parsed = parseIncoming({ event: 'hello', protocol: 1, hostname: 'h', extra: true, __proto__: { x: 1 } });
    expect(parsed).toEqual({ event: 'hello', protocol: 1, hostname: 'h' });
    expect(Object.keys(parsed!)).toEqual(['event', 'protocol', 'hostname']);
  });

  it('refuses malformed messages, saying where', () => {
    expect(problemOf([1, 2])).toBe('message: expected an object, got an array');
    expect(problemOf('hello')).toMatch(/expected an object/);
    expect(problemOf({ ok: true, result: {} })).toBe('message.id: expected an integer, got undefined');
    expect(problemOf({ id: 1.5, ok: true, result: {} })).toMatch(/message\.id: expected an integer/);
    expect(problemOf({ id: 1, ok: 'yes', result: {} })).toMatch(/message\.ok/);
    expect(problemOf({ id: 1, ok: true })).toMatch(/message\.result: expected an object/);
    expect(problemOf({ id: 1, ok: false, error: { code: 'oops', message: 'x' } })).toMatch(/message\.error\.code/);
    expect(problemOf({ id: 1, ok: false, error: { code: 'failed' } })).toMatch(/message\.error\.message: expected a string/);
    expect(problemOf({ event: 'party' })).toMatch(/unknown event "party"/);
    expect(problemOf({ event: 'hello', protocol: '1', hostname: 'h' })).toMatch(/message\.protocol: expected an integer, got "1"/);
    expect(problemOf({ event: 'state', name: 'web', state: 'paused' })).toMatch(/message\.state/);
    expect(problemOf({ event: 'tty', session: 1, data: 'not base64!' })).toMatch(/message\.data: expected base64/);
    expect(problemOf({ event: 'stats', containers: [{ ...STATS, pids: { current: 1, refused: 0 } }] }))
      .toBe('message.containers[0].pids.max: expected an integer, got undefined');
    expect(problemOf({ event: 'stats', containers: [{ ...STATS, frozen: 1 }] })).toMatch(/message\.containers\[0\]\.frozen: expected a boolean/);
  });
});

describe('parseResult', () => {
  it('checks each op’s result', () => {
    expect(parseResult('create', INFO)).toEqual(INFO);
    expect(parseResult('status', { ...INFO, state: 'stopped', ip: null, memory: null, pids: null, cpus: null, init_pid: null }))
      .toMatchObject({ state: 'stopped', init_pid: null });
    expect(parseResult('list', { containers: [INFO, INFO] })).toEqual({ containers: [INFO, INFO] });
    expect(parseResult('stats', STATS)).toEqual(STATS);
    expect(parseResult('ping', {})).toEqual({});
    expect(parseResult('exec', { exit_code: 1, stdout: '', stderr: 'eA==' })).toEqual({ exit_code: 1, stdout: '', stderr: 'eA==' });
    expect(parseResult('tty_open', { session: 3 })).toEqual({ session: 3 });
    expect(parseResult('logs', { data: 'aGk=' })).toEqual({ data: 'aGk=' });

    let problem = '';
    expect(parseResult('create', { ...INFO, privileged: 0 }, (reason) => (problem = reason))).toBeUndefined();
    expect(problem).toBe('result.privileged: expected a boolean, got 0');
    expect(parseResult('list', { containers: [INFO, { name: 'x' }] }, (reason) => (problem = reason))).toBeUndefined();
    expect(problem).toBe('result.containers[1].state: expected "stopped" or "running", got undefined');
    expect(parseResult('exec', { exit_code: 0, stdout: '!!', stderr: '' })).toBeUndefined();
    expect(parseResult('tty_open', {})).toBeUndefined();
  });
});
