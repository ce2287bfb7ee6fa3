import { describe, expect, it, vi } from 'vitest';
import { AgentError } from '../agent/AgentClient';
import { settleMigration } from './settleMigration';

const noSleep = async () => {};

describe('settleMigration', () => {
  it('asks the destination while it is in the cluster and reports what it says', async () => {
    const source = { migrateResolve: vi.fn().mockResolvedValueOnce({ outcome: 'moved' }) };
    const settled = await settleMigration(source, 'web', 'node2', '10.0.0.2', { destPresent: () => true, sleep: noSleep });
    expect(source.migrateResolve).toHaveBeenCalledWith('web', { dest: '10.0.0.2' });
    expect(settled.outcome).toBe('moved');
    expect(settled.message).toMatch(/node2 confirmed it runs there/);
  });

  it('takes the container back without asking once the destination left the cluster', async () => {
    let present = true;
    const source = {
      migrateResolve: vi.fn()
        .mockRejectedValueOnce(new AgentError('failed', 'migrate_resolve', 'connecting to 10.0.0.3: timed out'))
        .mockImplementationOnce(async (_n: string, target: object) => ({ outcome: 'resume' in target ? 'resumed' : 'moved' })),
    };
    const settled = await settleMigration(source, 'web', 'node3', '10.0.0.3', {
      destPresent: () => present, sleep: async () => { present = false; },
    });
    expect(source.migrateResolve).toHaveBeenNthCalledWith(1, 'web', { dest: '10.0.0.3' });
    expect(source.migrateResolve).toHaveBeenNthCalledWith(2, 'web', { resume: true });
    expect(settled.outcome).toBe('resumed');
    expect(settled.message).toMatch(/node3 left the cluster/);
  });

  it('gives up after its attempts with the last error, and stops at once when nothing is held', async () => {
    const unreachable = { migrateResolve: vi.fn().mockRejectedValue(new AgentError('failed', 'migrate_resolve', 'no route')) };
    await expect(settleMigration(unreachable, 'web', 'node2', '10.0.0.2', { destPresent: () => true, attempts: 3, sleep: noSleep }))
      .rejects.toThrow(/no route/);
    expect(unreachable.migrateResolve).toHaveBeenCalledTimes(3);
    const settled = { migrateResolve: vi.fn().mockRejectedValue(new AgentError('state', 'migrate_resolve', 'not held')) };
    await expect(settleMigration(settled, 'web', 'node2', '10.0.0.2', { destPresent: () => true, sleep: noSleep }))
      .rejects.toThrow(/not held/);
    expect(settled.migrateResolve).toHaveBeenCalledTimes(1);
  });
});
