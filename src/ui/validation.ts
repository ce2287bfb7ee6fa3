// The create dialog's checks: the same rules, and the same messages, as the in-guest `ct`
// (images/tools/ct/parse.c). The guest checks again; these only spare a round trip and show the
// problem next to its field. No DOM here: src/ui/validation.test.ts runs under Node.
import type { CreateArgs } from '../common/agent/protocol';

/** A parsed value, or why the text is refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

/** CT_NAME_MAX in images/tools/ct/ct.h. */
export const CONTAINER_NAME_MAX = 32;
export const HOSTNAME_MAX = 63;
export const COUNT_MAX = 1_000_000;
export const CPUS_MIN = 0.01;
export const CPUS_MAX = 64;
export const SIZE_MIN = 1 << 20;
/** parse_size refuses values over 2^40 bytes (1 TiB). */
export const SIZE_MAX = 2 ** 40;

/** printf's "%.40s": what ct quotes back of a bad value. */
const quoted = (s: string) => `"${s.slice(0, 40)}"`;
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
const isLower = (c: string | undefined) => c !== undefined && c >= 'a' && c <= 'z';
const isAlnum = (c: string) => isDigit(c) || isLower(c) || (c >= 'A' && c <= 'Z');

/** "max" and "none" mean no limit (parse.c is_unlimited). */
export const isUnlimited = (s: string) => s === 'max' || s === 'none';

/** parse_container_name: 1-32 of a-z 0-9 '-' '_', starting with a lowercase letter or digit. */
export function parseContainerName(s: string): Parsed<string> {
  if (s.length === 0 || s.length > CONTAINER_NAME_MAX)
    return bad(`invalid container name ${quoted(s)}: use 1-${CONTAINER_NAME_MAX} characters`);
  if (!isLower(s[0]) && !isDigit(s[0]))
    return bad(`invalid container name ${quoted(s)}: must start with a lowercase letter or digit`);
  for (const c of s) {
    if (!isLower(c) && !isDigit(c) && c !== '-' && c !== '_')
      return bad(`invalid container name ${quoted(s)}: only a-z, 0-9, '-' and '_' are allowed`);
  }
  return ok(s);
}

/** parse_hostname: 1-63 of letters, digits, '-' and '.', not starting with '-' or '.'. */
export function parseHostname(s: string): Parsed<string> {
  if (s.length === 0 || s.length > HOSTNAME_MAX) return bad(`invalid hostname ${quoted(s)}: use 1-${HOSTNAME_MAX} characters`);
  for (const c of s) {
    if (!isAlnum(c) && c !== '-' && c !== '.') return bad(`invalid hostname ${quoted(s)}: only letters, digits, '-' and '.'`);
  }
  if (s[0] === '-' || s[0] === '.') return bad(`invalid hostname ${quoted(s)}: must start with a letter or digit`);
  return ok(s);
}

const SIZE_UNITS: Record<string, bigint> = { K: 1n << 10n, M: 1n << 20n, G: 1n << 30n };

/**
 * parse_size: digits, then an optional K, M or G (either case), which may be followed by "i",
 * "iB" or "B" ("32M", "32MiB", "1g"); at least 1M and at most 1 TiB. Bytes, or null for "max"/"none".
 */
export function parseSize(s: string): Parsed<number | null> {
  if (isUnlimited(s)) return ok(null);
  const invalid = bad<number | null>(`invalid size ${quoted(s)}: use a number with K, M or G, or "max"`);
  const match = /^([0-9]+)([kKmMgG]?)(.*)$/.exec(s);
  if (!match) return invalid;
  const [, digits, unit, rest] = match as unknown as [string, string, string, string];
  // A bare number takes no suffix at all; after K, M or G: "i", "iB", "ib", "B" or "b".
  if (rest !== '' && (unit === '' || !['i', 'iB', 'ib', 'B', 'b'].includes(rest))) return invalid;
  const value = BigInt(digits);
  const mult = SIZE_UNITS[unit.toUpperCase()] ?? 1n;
  if (value > BigInt(SIZE_MAX) / mult) return invalid;
  const bytes = value * mult;
  if (bytes < BigInt(SIZE_MIN)) return bad(`memory limit ${quoted(s)} is below the 1M minimum`);
  return ok(Number(bytes));
}

/** parse_count: a whole number from 1 to 1000000, or null for "max"/"none". `what` names it in the message. */
export function parseCount(s: string, what: string): Parsed<number | null> {
  if (isUnlimited(s)) return ok(null);
  const value = /^[0-9]+$/.test(s) ? Number(s) : -1;
  if (value < 1 || value > COUNT_MAX)
    return bad(`invalid ${what} ${quoted(s)}: use a whole number from 1 to ${COUNT_MAX}, or "max"`);
  return ok(value);
}

/** What C's strtod reads as a whole string that starts with a digit or '.': decimal or hex floats. */
function strtod(s: string): number | undefined {
  if (/^([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(s)) return Number(s);
  const hex = /^0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?$/.exec(s);
  if (hex && (hex[1] || hex[2])) {
    const whole = hex[1] ?? '';
    const frac = hex[2] ?? '';
    const mantissa = whole + frac ? parseInt(whole + frac, 16) : 0;
    return mantissa * 2 ** (Number(hex[3] ?? 0) - 4 * frac.length);
  }
  return undefined;
}

/** parse_cpus: CPUs' worth of time from 0.01 to 64 ("0.5"), or null for "max"/"none". */
export function parseCpus(s: string): Parsed<number | null> {
  if (isUnlimited(s)) return ok(null);
  const value = isDigit(s[0]) || s[0] === '.' ? strtod(s) : undefined;
  if (value === undefined || !(value >= CPUS_MIN && value <= CPUS_MAX))
    return bad(`invalid CPU limit ${quoted(s)}: use a number from ${CPUS_MIN} to ${CPUS_MAX}, or "max"`);
  return ok(value);
}

/** inet_pton(AF_INET): four decimal octets 0-255, no leading zeros. */
function ipv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    value = value * 256 + Number(part);
  }
  return value;
}

/** parse_ipv4_cidr: "a.b.c.d/n" with n from 8 to 30, neither the network nor the broadcast address. */
export function parseIpCidr(s: string): Parsed<string> {
  const invalid = bad<string>(`invalid IP ${quoted(s)}: use an IPv4 address with a prefix, like 10.0.1.5/16`);
  const slash = s.indexOf('/');
  if (slash === -1 || slash >= 32) return invalid;
  const address = ipv4(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (address === undefined || !/^[0-9]+$/.test(prefixText)) return invalid;
  const prefix = Number(prefixText);
  if (prefix < 8 || prefix > 30) return invalid;
  const hostBits = 2 ** (32 - prefix);
  const host = address % hostBits;
  if (host === 0 || host === hostBits - 1) return bad(`invalid IP ${quoted(s)}: that is the network or broadcast address`);
  return ok(s);
}

/** The create dialog's fields, as typed. Blank means "not set": no limit, the name as hostname, an allocated IP. */
export interface CreateForm {
  name: string;
  memory: string;
  pids: string;
  cpus: string;
  hostname: string;
  privileged: boolean;
  ip: string;
}

export type CreateField = Exclude<keyof CreateForm, 'privileged'>;
export type FieldErrors = Partial<Record<CreateField, string>>;

export const EMPTY_CREATE_FORM: CreateForm = { name: '', memory: '', pids: '', cpus: '', hostname: '', privileged: false, ip: '' };

export type CreateValidation = { ok: true; args: CreateArgs } | { ok: false; errors: FieldErrors };

/**
 * Checks every field of the create dialog; the args to send when all pass. Surrounding blanks are
 * ignored, as a user would expect of a form (the CLI never sees them).
 */
export function validateCreateForm(form: CreateForm): CreateValidation {
  const errors: FieldErrors = {};
  const args: CreateArgs = { name: form.name.trim() };
  const name = parseContainerName(args.name);
  if (!name.ok) errors.name = name.error;

  const optional = <T>(field: CreateField, parse: (s: string) => Parsed<T>, use: (value: T) => void) => {
    const text = form[field].trim();
    if (text === '') return;
    const parsed = parse(text);
    if (parsed.ok) use(parsed.value);
    else errors[field] = parsed.error;
  };
  optional('memory', parseSize, (v) => { if (v !== null) args.memory = v; });
  optional('pids', (s) => parseCount(s, 'pids limit'), (v) => { if (v !== null) args.pids = v; });
  optional('cpus', parseCpus, (v) => { if (v !== null) args.cpus = v; });
  optional('hostname', parseHostname, (v) => { args.hostname = v; });
  optional('ip', parseIpCidr, (v) => { args.ip = v; });
  if (form.privileged) args.privileged = true;
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, args };
}
