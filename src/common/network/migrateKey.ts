// The cluster's migration key: a host accepts live-migrated containers only from hosts that
// present the same key (host_configure's migrate_key), so a container on the virtual network
// cannot push one in. One key per cluster, made by its first tab and adopted by the tabs that join.

/** What the guest accepts: 1-64 of A-Z a-z 0-9 _ - (images/tools/ct/migrate.c). */
const KEY_RE = /^[A-Za-z0-9_-]{1,64}$/;

export function isMigrateKey(value: unknown): value is string {
  return typeof value === 'string' && KEY_RE.test(value);
}

/** A key and when the tab that made it did so (ms since 1970): the oldest key of a cluster wins. */
export interface DatedKey {
  key: string;
  born: number;
}

/** 64 hex digits (256 bits) from the platform's CSPRNG. */
export function randomMigrateKey(fill: (bytes: Uint8Array) => Uint8Array = (b) => crypto.getRandomValues(b)): string {
  const bytes = fill(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** True when `a` should win over `b`: older, and the smaller key on a tie, so every tab picks the same. */
export function isOlderKey(a: DatedKey, b: DatedKey): boolean {
  return a.born < b.born || (a.born === b.born && a.key < b.key);
}
