import { describe, expect, it } from 'vitest';
import {
  EMPTY_CREATE_FORM, parseContainerName, parseCount, parseCpus, parseHostname, parseIpCidr, parseSize, validateCreateForm,
  type Parsed,
} from './validation';

const value = <T>(parsed: Parsed<T>) => (parsed.ok ? parsed.value : `error: ${parsed.error}`);
const accepted = <T>(parsed: Parsed<T>) => parsed.ok;

describe('container names (parse_container_name)', () => {
  it.each(['web', 'a', '0', '9lives', 'db_1', 'a-b-c', 'x'.repeat(32)])('accepts %s', (s) => {
    expect(value(parseContainerName(s))).toBe(s);
  });

  it.each(['', 'x'.repeat(33), '-web', '_web', 'Web', 'wEb', 'we b', 'web.1', 'wéb', 'web/'])('refuses "%s"', (s) => {
    expect(accepted(parseContainerName(s))).toBe(false);
  });

  it('says why, in ct\'s words', () => {
    expect(value(parseContainerName(''))).toBe('error: invalid container name "": use 1-32 characters');
    expect(value(parseContainerName('Bad'))).toBe('error: invalid container name "Bad": must start with a lowercase letter or digit');
    expect(value(parseContainerName('bad name'))).toBe(`error: invalid container name "bad name": only a-z, 0-9, '-' and '_' are allowed`);
  });
});

describe('hostnames (parse_hostname)', () => {
  it.each(['web', 'Web-1', 'a.example.org', '1', 'x'.repeat(63)])('accepts %s', (s) => {
    expect(value(parseHostname(s))).toBe(s);
  });

  it.each(['', 'x'.repeat(64), '-web', '.web', 'we_b', 'we b', 'wéb'])('refuses "%s"', (s) => {
    expect(accepted(parseHostname(s))).toBe(false);
  });
});

describe('sizes (parse_size)', () => {
  it.each([
    ['1M', 1 << 20], ['32M', 32 << 20], ['32m', 32 << 20], ['32MiB', 32 << 20], ['32Mi', 32 << 20], ['32MB', 32 << 20],
    ['1024K', 1 << 20], ['1048576', 1 << 20], ['1024Kb', 1 << 20], ['1G', 2 ** 30], ['1024G', 2 ** 40],
    ['max', null], ['none', null],
  ] as const)('reads %s as %s bytes', (s, bytes) => {
    expect(value(parseSize(s))).toBe(bytes);
  });

  it.each(['', 'M', '-1M', '+1M', ' 1M', '1.5M', '1T', '1MM', '1MiBs', '1 M', '1048576B', '1048576i', '1025G', '99999999999999999999999', 'unlimited'])(
    'refuses "%s"', (s) => {
      expect(value(parseSize(s))).toMatch(/^error: invalid size ".*": use a number with K, M or G, or "max"$/);
    });

  it('refuses less than 1M with its own message', () => {
    expect(value(parseSize('1023K'))).toBe('error: memory limit "1023K" is below the 1M minimum');
    expect(value(parseSize('0'))).toBe('error: memory limit "0" is below the 1M minimum');
  });
});

describe('counts (parse_count)', () => {
  it.each([['1', 1], ['64', 64], ['1000000', 1000000], ['007', 7], ['max', null]] as const)('reads %s as %s', (s, n) => {
    expect(value(parseCount(s, 'pids limit'))).toBe(n);
  });

  it.each(['', '0', '-1', '+5', '1000001', '1.5', '5x', ' 5', '1e3'])('refuses "%s"', (s) => {
    expect(value(parseCount(s, 'pids limit'))).toBe(
      `error: invalid pids limit "${s}": use a whole number from 1 to 1000000, or "max"`);
  });
});

describe('CPU limits (parse_cpus)', () => {
  it.each([
    ['0.01', 0.01], ['0.5', 0.5], ['.5', 0.5], ['1', 1], ['1.', 1], ['64', 64], ['5e-1', 0.5], ['0x1p-1', 0.5], ['0x10', 16],
    ['max', null],
  ] as const)('reads %s as %s', (s, n) => {
    expect(value(parseCpus(s))).toBe(n);
  });

  it.each(['', '0', '0.009', '64.01', '65', '-1', '+1', '.', 'e1', '1,5', '0.5 ', 'inf', 'nan', '0x'])('refuses "%s"', (s) => {
    expect(value(parseCpus(s))).toBe(`error: invalid CPU limit "${s}": use a number from 0.01 to 64, or "max"`);
  });
});

describe('IPs (parse_ipv4_cidr)', () => {
  it.each(['10.0.1.5/16', '10.0.1.1/8', '192.168.1.1/30', '192.168.1.2/30', '10.0.0.255/16', '10.0.1.0/16'])('accepts %s', (s) => {
    expect(value(parseIpCidr(s))).toBe(s);
  });

  it.each(['', '10.0.1.5', '10.0.1.5/', '10.0.1.5/7', '10.0.1.5/31', '10.0.1.5/32', '10.0.1.5/+16', '10.0.1.5/16 ',
    '10.0.1/16', '10.0.1.5.6/16', '10.0.1.256/16', '10.0.01.5/16', '10.0.1.-5/16', 'a.b.c.d/16', '10.0.1.5/1x', ' 10.0.1.5/16'])(
    'refuses "%s"', (s) => {
      expect(value(parseIpCidr(s))).toBe(`error: invalid IP "${s}": use an IPv4 address with a prefix, like 10.0.1.5/16`);
    });

  it.each(['10.0.0.0/16', '10.0.255.255/16', '192.168.1.0/30', '192.168.1.3/30', '10.255.255.255/8'])(
    'refuses the network or broadcast address %s', (s) => {
      expect(value(parseIpCidr(s))).toBe(`error: invalid IP "${s}": that is the network or broadcast address`);
    });
});

describe('the create form', () => {
  it('sends only the name when the rest is blank', () => {
    expect(validateCreateForm({ ...EMPTY_CREATE_FORM, name: 'web' })).toEqual({ ok: true, args: { name: 'web' } });
  });

  it('turns every field into the agent\'s create args', () => {
    expect(validateCreateForm({
      name: ' web ', memory: '32M', pids: '64', cpus: '0.5', hostname: 'www', privileged: true, ip: '10.0.1.9/16',
    })).toEqual({
      ok: true,
      args: { name: 'web', memory: 32 << 20, pids: 64, cpus: 0.5, hostname: 'www', privileged: true, ip: '10.0.1.9/16' },
    });
  });

  it('leaves "max" limits out: no limit is the default', () => {
    expect(validateCreateForm({ ...EMPTY_CREATE_FORM, name: 'web', memory: 'max', pids: 'none', cpus: 'max' }))
      .toEqual({ ok: true, args: { name: 'web' } });
  });

  it('reports every bad field at once, and nothing to send', () => {
    const result = validateCreateForm({ name: 'Bad Name', memory: '512K', pids: '0', cpus: '100', hostname: '-x', privileged: false, ip: '10.0.0.0/16' });
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : Object.keys(result.errors).sort()).toEqual(['cpus', 'hostname', 'ip', 'memory', 'name', 'pids']);
  });

  it('requires a name', () => {
    expect(validateCreateForm(EMPTY_CREATE_FORM)).toEqual({ ok: false, errors: { name: 'invalid container name "": use 1-32 characters' } });
  });
});
