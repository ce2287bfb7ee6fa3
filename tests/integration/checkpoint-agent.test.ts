// Checkpoint and restore through the agent, on the real guest: a counting workload is checkpointed,
// its image goes out to the page and back in, and the restored process counts on; bad ids, bad
// chunks and corrupt images are refused with clear errors and leave nothing behind.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentError } from '../../src/common/agent/AgentClient';
import { imageContainerName } from '../../src/common/agent/ctImage';
import { bootGuest, hostTraces, type TestGuest } from './guest';

let g: TestGuest;
beforeAll(async () => { g = await bootGuest('cr-agent'); });
afterAll(async () => { await g?.dispose(); });

async function agentError(work: Promise<unknown>): Promise<AgentError> {
  const err = await work.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  return err as AgentError;
}

/** Every "count N" the container's console shows, in order. */
async function counts(name: string): Promise<number[]> {
  const log = new TextDecoder().decode(await g.agent.logs(name));
  return [...log.matchAll(/^count (\d+)\r?$/gm)].map((m) => Number(m[1]));
}

/** Starts `ctdemo count` in the background with every stdio inside the container. */
async function startCounter(name: string): Promise<void> {
  const run = await g.agent.execText(name, ['sh', '-c', 'ctdemo count 200 > /dev/console 2>&1 < /dev/null &']);
  expect(run.exitCode).toBe(0);
}

let rawId = 900_000;
/** Sends a request the client would refuse to send; resolves with the agent's error reply. */
function rawError(op: string, args: object): Promise<{ code: string; message: string }> {
  const id = ++rawId;
  return new Promise((resolve) => {
    const sub = g.agent.onProtocolError((dropped) => {
      // A reply to no pending request is dropped, and the reason quotes its code and message.
      const m = /^an error reply \((\w+): (.*)\) to no pending request \(id (\d+)\)$/.exec(dropped.reason);
      if (!m || Number(m[3]) !== id) return;
      sub.dispose();
      resolve({ code: m[1]!, message: m[2]! });
    });
    g.host.writeAgent(new TextEncoder().encode(JSON.stringify({ id, op, args }) + '\n'));
  });
}

describe('checkpoint and restore through the agent', () => {
  it('moves a counting process out as an image file and back, and it counts on', { timeout: 400_000 }, async () => {
    await g.agent.create({ name: 'demo', ip: '10.0.4.1/16', memory: 32 << 20 });
    await g.agent.start('demo');
    await startCounter('demo');
    await expect.poll(async () => (await counts('demo')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(5);

    const phases: string[] = [];
    const report = await g.agent.checkpoint('demo', { onProgress: (p) => phases.push(p) });
    expect(report).toMatchObject({ name: 'demo' });
    expect(report.image).toMatch(/^demo-[0-9a-f]{8}$/);
    expect(report.processes).toBeGreaterThanOrEqual(2); // ct-init and ctdemo
    expect(report.pages).toBeGreaterThan(0);
    expect(report.image_bytes).toBeGreaterThan(report.pages * 4096);
    expect(report.frozen_ms).toBeGreaterThanOrEqual(0);
    expect(report.total_ms).toBeGreaterThanOrEqual(report.frozen_ms);
    expect(phases).toEqual(['freezing', 'filesystem', 'files', 'memory', 'stopping']);
    expect((await g.agent.status('demo')).state).toBe('stopped');
    const before = await counts('demo');
    expect(before.at(-1)).toBeGreaterThanOrEqual(5);

    // Out to the page, gone from the host, back in under a new id.
    const bytes = await g.agent.downloadImage(report.image);
    expect(bytes.length).toBe(report.image_bytes);
    expect(imageContainerName(bytes)).toBe('demo');
    expect(await g.sh(`ct image /var/lib/ct-images/${report.image} | head -c 2000`)).toMatch(/demo/);
    await g.agent.deleteImage(report.image);
    expect((await g.agent.listImages()).map((i) => i.image)).not.toContain(report.image);
    expect((await agentError(g.agent.downloadImage(report.image))).code).toBe('not_found');
    const uploaded = await g.agent.uploadImage(bytes);
    expect(uploaded).toMatch(/^upload-[0-9a-f]{8}$/);
    expect(await g.agent.listImages()).toContainEqual({ image: uploaded, size: bytes.length });

    // As on another host: no container of that name until the restore makes it.
    await g.agent.destroy('demo');
    const restorePhases: string[] = [];
    const restored = await g.agent.restore('demo', uploaded, { onProgress: (p) => restorePhases.push(p) });
    expect(restored.container).toMatchObject({ name: 'demo', state: 'running', ip: '10.0.4.1/16', memory: 32 << 20 });
    expect(restored.processes).toBe(report.processes);
    expect(restorePhases).toEqual(expect.arrayContaining(['reading', 'filesystem', 'processes']));

    const last = before.at(-1)!;
    await expect.poll(async () => (await counts('demo')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThan(last + 3);
    const after = await counts('demo');
    // The console log came back with the image; the count continued it, never starting over.
    expect(after.slice(0, before.length)).toEqual(before);
    for (let i = 1; i < after.length; i++) expect(after[i]).toBe(after[i - 1]! + 1);

    await g.agent.destroy('demo', { force: true });
    await g.agent.deleteImage(uploaded);
    expect(await hostTraces(g, 'demo')).toBe('');
  });

  it('leaves a container running when asked', { timeout: 300_000 }, async () => {
    await g.agent.create({ name: 'stay' });
    await g.agent.start('stay');
    await startCounter('stay');
    await expect.poll(async () => (await counts('stay')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThanOrEqual(2);
    const report = await g.agent.checkpoint('stay', { leaveRunning: true });
    expect((await g.agent.status('stay')).state).toBe('running');
    const at = (await counts('stay')).at(-1)!;
    await expect.poll(async () => (await counts('stay')).at(-1) ?? 0, { timeout: 30_000 }).toBeGreaterThan(at + 2);
    // Restoring over a running container is refused.
    const err = await agentError(g.agent.restore('stay', report.image));
    expect(err.code).toBe('state');
    expect(err.message).toMatch(/is running/);
    await g.agent.destroy('stay', { force: true });
    await g.agent.deleteImage(report.image);
  });
});

describe('bad input', () => {
  it('refuses unknown and malformed image ids', async () => {
    const unknown = await agentError(g.agent.restore('ghost', 'nope-00000000'));
    expect(unknown).toMatchObject({ code: 'not_found', message: 'no image "nope-00000000"' });
    for (const image of ['../../etc', '..', '.', 'a/../../x', '', 'UP', 'x'.repeat(49)]) {
      const read = await rawError('image_read', { image, offset: 0, length: 16 });
      expect(read.code).toBe('invalid_argument');
      expect(read.message).toMatch(/invalid image id/);
      expect((await rawError('restore', { name: 'ghost', image })).code).toBe('invalid_argument');
      expect((await rawError('image_delete', { image })).code).toBe('invalid_argument');
    }
    expect(await rawError('image_read', { image: 7, offset: 0, length: 16 })).toMatchObject({ code: 'bad_request' });
    expect((await g.agent.list()).map((c) => c.name)).not.toContain('ghost');
    expect(await g.sh('ls /etc/passwd /var/lib')).toMatch(/passwd/); // still there
  });

  it('bounds offsets, lengths and chunk sizes', async () => {
    const created = await rawCreate();
    expect((await rawError('image_write', { image: created, offset: 64 * 1024 * 1024, data: 'AAAA' })).message).toMatch(/at most 64 MiB/);
    expect((await rawError('image_write', { image: created, offset: 64 * 1024 * 1024 + 1, data: 'AAAA' })).code).toBe('invalid_argument');
    expect((await rawError('image_write', { image: created, offset: -1, data: 'AAAA' })).code).toBe('invalid_argument');
    expect((await rawError('image_write', { image: created, offset: 0, data: 'not base64!' })).code).toBe('bad_request');
    expect((await rawError('image_read', { image: created, offset: 0, length: 48 * 1024 + 1 })).code).toBe('invalid_argument');
    expect((await rawError('image_read', { image: created, offset: 0, length: 0 })).code).toBe('invalid_argument');
    expect((await rawError('image_read', { image: created, offset: 0 })).code).toBe('bad_request');
    expect(await g.agent.listImages()).toContainEqual({ image: created, size: 0 });
    await g.agent.deleteImage(created);
  });

  it('fails a restore of a corrupt or truncated image with a clear message and no container left', { timeout: 300_000 }, async () => {
    await g.agent.create({ name: 'src' });
    await g.agent.start('src');
    await startCounter('src');
    const report = await g.agent.checkpoint('src');
    const good = await g.agent.downloadImage(report.image);
    await g.agent.deleteImage(report.image);
    await g.agent.destroy('src');

    const corrupt = good.slice();
    for (let i = 0; i < 64; i++) corrupt[Math.floor(corrupt.length / 2) + i]! ^= 0x5a;
    const truncated = good.slice(0, Math.floor(good.length * 0.7));
    for (const [bytes, message] of [[corrupt, /corrupt/], [truncated, /truncated|ends|missing/]] as const) {
      const image = await g.agent.uploadImage(bytes);
      const err = await agentError(g.agent.restore('ghost', image));
      expect(err.code).toBe('bad_image');
      expect(err.message).toMatch(message);
      expect((await g.agent.list()).map((c) => c.name)).toEqual([]);
      expect(await g.sh('ls /var/lib/ct')).toBe('');
      expect(await hostTraces(g, 'ghost')).toBe('');
      await g.agent.deleteImage(image);
    }
    expect(await g.agent.listImages()).toEqual([]);
  });
});

/** image_create through a raw line: resolves with the new id. */
function rawCreate(): Promise<string> {
  const id = ++rawId;
  return new Promise((resolve) => {
    const sub = g.agent.onProtocolError((dropped) => {
      if (!dropped.line.includes(`"id":${id},`)) return;
      sub.dispose();
      resolve((JSON.parse(dropped.line) as { result: { image: string } }).result.image);
    });
    g.host.writeAgent(new TextEncoder().encode(JSON.stringify({ id, op: 'image_create' }) + '\n'));
  });
}
