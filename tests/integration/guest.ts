// A booted host with its console shell and agent client, for the integration suites.
import { AgentClient, hostAgentChannel } from '../../src/common/agent/AgentClient';
import { ConsoleShell } from '../../src/common/host/ConsoleShell';
import type { EmulatedHost } from '../../src/common/host/EmulatedHost';
import { createNodeHost } from '../../src/node/nodeHost';

export interface TestGuest {
  host: EmulatedHost;
  shell: ConsoleShell;
  agent: AgentClient;
  /** Runs a command on the host's console; throws unless it exits 0. */
  sh(command: string): Promise<string>;
  dispose(): Promise<void>;
}

/** A host from the saved state when it fits (else booted; see createNodeHost), with the right clock. */
export async function bootGuest(name: string, memoryMb?: number): Promise<TestGuest> {
  const host = createNodeHost(name, memoryMb ? { memoryMb } : {});
  await host.boot();
  const shell = new ConsoleShell(host);
  const agent = new AgentClient(hostAgentChannel(host));
  await agent.ready();
  // Restored from the saved state, the guest's clock stands at the time of the save.
  await agent.setTime();
  return {
    host, shell, agent,
    async sh(command) {
      const { output, exitCode } = await shell.run(command, 60_000);
      if (exitCode !== 0) throw new Error(`"${command}" exited ${exitCode}: ${output}`);
      return output.trim();
    },
    async dispose() {
      agent.dispose();
      shell.dispose();
      await host.shutdown();
    },
  };
}

/**
 * What a container leaves on its host while it runs: its cgroup, mounts and run files, and any
 * veth or monitor (those two are not per name: call this while no other container runs).
 */
export async function hostTraces(guest: TestGuest, name: string): Promise<string> {
  return guest.sh(
    `{ ls /sys/fs/cgroup/ct 2>/dev/null | grep -x '${name}'; grep -F '/var/lib/ct/${name}/' /proc/mounts; ` +
    `ls /run/ct 2>/dev/null | grep -E '^${name}\\.(pid|mon)$'; ip -o link | grep -o ' vc[0-9]*'; ` +
    // A monitor that has exited stays a zombie until the host's init reaps it (busybox init: within
    // about a second); it released everything before its exit, so only a live one is a trace.
    `ps -o stat,comm | awk '$1 !~ /^Z/ && $2 == "ct-monitor" { print $2 }'; } | cat`);
}
