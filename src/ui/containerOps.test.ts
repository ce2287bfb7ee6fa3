import { describe, expect, it, vi } from 'vitest';
import { AgentError } from '../common/agent/AgentClient';
import type { ContainerInfo, CreateArgs } from '../common/agent/protocol';
import { ContainerOps, type OpsCluster, type OpsNode } from './containerOps';

const info = (name: string, state: ContainerInfo['state']): ContainerInfo => ({
  name, state, template: 'busybox', hostname: name, ip: '10.0.1.1/16', memory: null, pids: null, cpus: null,
  privileged: false, init_pid: state === 'running' ? 42 : null, frozen: false, created: 0,
});

const REPORT = { image: 'web-0a1b2c3d', name: 'web', processes: 2, pages: 10, fs_bytes: 0, image_bytes: 50_000, frozen_ms: 30, total_ms: 60 };

/** A promise with its resolve and reject exposed. */
function deferred<T = unknown>() {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

function fakeNode(containers: ContainerInfo[] = []) {
  const node = {
    name: 'node1',
    containers,
    agent: {
      start: vi.fn(async (name: string) => info(name, 'running')),
      stop: vi.fn(async (name: string) => info(name, 'stopped')),
      restart: vi.fn(async (name: string) => info(name, 'running')),
      destroy: vi.fn(async (_name: string, _options: { force?: boolean }) => undefined),
      checkpoint: vi.fn(async (name: string, options: { leaveRunning?: boolean; onProgress?: (phase: string) => void }) => {
        options.onProgress?.('freezing');
        return { ...REPORT, name };
      }),
      restore: vi.fn(async (name: string, image: string, _options: { onProgress?: (phase: string) => void }) =>
        ({ ...REPORT, name, image, container: info(name, 'running') })),
      downloadImage: vi.fn(async (_image: string) => new Uint8Array([1, 2, 3])),
      uploadImage: vi.fn(async (_bytes: Uint8Array) => 'upload-00000001'),
      deleteImage: vi.fn(async (_image: string) => undefined),
    },
    refresh: vi.fn(async () => undefined),
  } satisfies OpsNode;
  return node;
}

describe('container actions', () => {
  it('mark the row busy while the action runs, then re-read the list', async () => {
    const node = fakeNode([info('web', 'stopped')]);
    const started = deferred<ContainerInfo>();
    node.agent.start.mockReturnValueOnce(started.promise);
    const ops = new ContainerOps(() => 1000);
    const changes = vi.fn();
    ops.onChange(changes);

    const done = ops.run(node, 'web', 'start');
    expect(ops.pendingOf('node1', 'web')).toEqual({ action: 'start', since: 1000 });
    // A second click while it runs does nothing.
    await ops.run(node, 'web', 'start');
    expect(node.agent.start).toHaveBeenCalledTimes(1);

    started.resolve(info('web', 'running'));
    await done;
    expect(ops.pendingOf('node1', 'web')).toBeUndefined();
    expect(node.refresh).toHaveBeenCalled();
    expect(changes).toHaveBeenCalledTimes(2);
  });

  it('keep the guest\'s message as the row\'s error until dismissed', async () => {
    const node = fakeNode([info('web', 'running')]);
    node.agent.stop.mockRejectedValueOnce(new AgentError('state', 'stop', 'container "web" is not running'));
    const ops = new ContainerOps();
    await ops.run(node, 'web', 'stop');
    expect(ops.errorOf('node1', 'web')).toEqual({ action: 'stop', message: 'container "web" is not running', code: 'state' });
    expect(ops.pendingOf('node1', 'web')).toBeUndefined();
    ops.dismissError('node1', 'web');
    expect(ops.errorOf('node1', 'web')).toBeUndefined();
  });

  it('force the destroy of a running container only', async () => {
    const node = fakeNode([info('up', 'running'), info('down', 'stopped')]);
    const ops = new ContainerOps();
    await ops.run(node, 'up', 'destroy');
    await ops.run(node, 'down', 'destroy');
    expect(node.agent.destroy.mock.calls).toEqual([['up', { force: true }], ['down', { force: false }]]);
  });

  it('create, then start with the start shown on the row', async () => {
    const node = fakeNode();
    const created = deferred<ContainerInfo>();
    const started = deferred<ContainerInfo>();
    node.agent.start.mockReturnValueOnce(started.promise);
    const createContainer = vi.fn((_node: string, _args: CreateArgs) => created.promise);
    const cluster: OpsCluster = { node: () => node, createContainer };
    const ops = new ContainerOps();

    const creating = ops.create(cluster, 'node1', { name: 'web', memory: 32 << 20 });
    expect(ops.creatingOn('node1')).toEqual(['web']);
    expect(ops.pendingOf('node1', 'web')?.action).toBe('create');
    created.resolve(info('web', 'stopped'));
    await creating;
    expect(createContainer).toHaveBeenCalledWith('node1', { name: 'web', memory: 32 << 20 });
    expect(ops.creatingOn('node1')).toEqual([]);
    expect(ops.pendingOf('node1', 'web')?.action).toBe('start');

    started.resolve(info('web', 'running'));
    await vi.waitFor(() => expect(ops.pendingOf('node1', 'web')).toBeUndefined());
    expect(node.agent.start).toHaveBeenCalledWith('web');
  });

  it('hand a failed create back to the dialog, leaving no row behind', async () => {
    const node = fakeNode();
    const cluster: OpsCluster = {
      node: () => node,
      createContainer: async () => { throw new AgentError('exists', 'create', 'a container named "web" exists'); },
    };
    const ops = new ContainerOps();
    await expect(ops.create(cluster, 'node1', { name: 'web' })).rejects.toThrow('a container named "web" exists');
    expect(ops.creatingOn('node1')).toEqual([]);
    expect(ops.pendingOf('node1', 'web')).toBeUndefined();
    expect(ops.errorOf('node1', 'web')).toBeUndefined();
    expect(node.agent.start).not.toHaveBeenCalled();
  });

  it('show a failed start after a create on the row', async () => {
    const node = fakeNode();
    node.agent.start.mockRejectedValueOnce(new AgentError('failed', 'start', 'mount: No space left on device'));
    const ops = new ContainerOps();
    await ops.create({ node: () => node, createContainer: async () => info('web', 'stopped') }, 'node1', { name: 'web' });
    await vi.waitFor(() => expect(ops.errorOf('node1', 'web')?.message).toBe('mount: No space left on device'));
  });
});

describe('checkpoint and restore', () => {
  it('show the phase while a checkpoint runs, then its report, and download its image', async () => {
    const node = fakeNode([info('web', 'running')]);
    const done = deferred<typeof REPORT>();
    let progress: ((phase: string) => void) | undefined;
    node.agent.checkpoint.mockImplementationOnce((_name, options) => {
      progress = options.onProgress;
      return done.promise;
    });
    const ops = new ContainerOps(() => 5);
    const running = ops.checkpoint(node, 'web', { leaveRunning: true });
    expect(node.agent.checkpoint).toHaveBeenCalledWith('web', expect.objectContaining({ leaveRunning: true }));
    progress!('memory');
    expect(ops.pendingOf('node1', 'web')).toEqual({ action: 'checkpoint', since: 5, phase: 'memory' });
    done.resolve(REPORT);
    await running;
    expect(ops.pendingOf('node1', 'web')).toBeUndefined();
    expect(ops.resultOf('node1', 'web')).toEqual({ action: 'checkpoint', report: REPORT });

    expect(await ops.download(node, 'web')).toEqual({ name: 'web.ctimg', bytes: new Uint8Array([1, 2, 3]) });
    expect(node.agent.downloadImage).toHaveBeenCalledWith('web-0a1b2c3d');
    node.agent.downloadImage.mockRejectedValueOnce(new AgentError('not_found', 'image_read', 'no image "web-0a1b2c3d"'));
    expect(await ops.download(node, 'web')).toBeUndefined();
    expect(ops.errorOf('node1', 'web')).toMatchObject({ action: 'download', message: 'no image "web-0a1b2c3d"', code: 'not_found' });
  });

  it('delete a checkpoint’s image on the host when a new one replaces it or its report is dismissed', async () => {
    const node = fakeNode([info('web', 'running')]);
    node.agent.checkpoint.mockResolvedValueOnce({ ...REPORT, image: 'web-00000001' });
    node.agent.checkpoint.mockResolvedValueOnce({ ...REPORT, image: 'web-00000002' });
    const ops = new ContainerOps();
    await ops.checkpoint(node, 'web', { leaveRunning: true });
    expect(node.agent.deleteImage).not.toHaveBeenCalled();
    await ops.checkpoint(node, 'web', { leaveRunning: true });
    expect(node.agent.deleteImage).toHaveBeenCalledWith('web-00000001');
    ops.dismissResult(node, 'web');
    expect(node.agent.deleteImage).toHaveBeenLastCalledWith('web-00000002');
    expect(ops.resultOf('node1', 'web')).toBeUndefined();
  });

  it('keep a failed checkpoint as the row’s error', async () => {
    const node = fakeNode([info('web', 'running')]);
    node.agent.checkpoint.mockRejectedValueOnce(new AgentError('unsupported', 'checkpoint', 'process 3 uses POSIX timers'));
    const ops = new ContainerOps();
    await ops.checkpoint(node, 'web');
    expect(ops.errorOf('node1', 'web')).toEqual({ action: 'checkpoint', message: 'process 3 uses POSIX timers', code: 'unsupported' });
    expect(ops.resultOf('node1', 'web')).toBeUndefined();
  });

  it('restore a file: upload, restore under a pending row, delete the upload', async () => {
    const node = fakeNode();
    const ops = new ContainerOps(() => 7);
    const uploaded = deferred<string>();
    node.agent.uploadImage.mockReturnValueOnce(uploaded.promise);
    const done = ops.restoreFile(node, 'web', new Uint8Array([9]));
    expect(ops.creatingOn('node1')).toEqual(['web']);
    expect(ops.pendingOf('node1', 'web')).toEqual({ action: 'restore', since: 7, phase: 'uploading' });
    uploaded.resolve('upload-00000001');
    expect(await done).toBe(true);
    expect(node.agent.restore).toHaveBeenCalledWith('web', 'upload-00000001', expect.anything());
    expect(node.agent.deleteImage).toHaveBeenCalledWith('upload-00000001');
    expect(ops.creatingOn('node1')).toEqual([]);
    expect(ops.resultOf('node1', 'web')?.action).toBe('restore');
  });

  it('show a failed restore as the host’s error, with the guest’s message', async () => {
    const node = fakeNode();
    node.agent.restore.mockRejectedValueOnce(new AgentError('bad_image', 'restore', 'record 7 (PAGES) is corrupt (checksum mismatch)'));
    const ops = new ContainerOps();
    expect(await ops.restoreFile(node, 'web', new Uint8Array([9]))).toBe(false);
    expect(ops.hostErrorOf('node1')).toEqual({ action: 'restore', message: 'web: record 7 (PAGES) is corrupt (checksum mismatch)', code: 'bad_image' });
    expect(node.agent.deleteImage).toHaveBeenCalledWith('upload-00000001');
    ops.dismissHostError('node1');
    expect(ops.hostErrorOf('node1')).toBeUndefined();
  });
});
