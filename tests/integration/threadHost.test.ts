// A host in a Node worker thread (ThreadHost, used by bench/network): the worker loads this
// TypeScript tree itself, and the console and the agent both reach the guest.
import { afterAll, expect, it } from 'vitest';
import { AgentClient, hostAgentChannel } from '../../src/common/agent/AgentClient';
import { ConsoleShell } from '../../src/common/host/ConsoleShell';
import type { Host } from '../../src/common/host/Host';
import { ThreadHost } from '../../src/node/ThreadHost';

const host = new ThreadHost('thread1', { type: 'virtio' });
afterAll(() => host.shutdown());

it('boots a host in a worker thread and drives its console and agent', async () => {
  const boot = await host.boot();
  expect(boot.bootMs).toBeGreaterThan(0);
  const shell = new ConsoleShell(host as unknown as Host);
  expect(await shell.run('echo $((6 * 7))')).toEqual({ output: '42\n', exitCode: 0 });
  const agent = new AgentClient(hostAgentChannel(host));
  await agent.ready();
  expect(await agent.list()).toEqual([]);
  agent.dispose();
  shell.dispose();
});
