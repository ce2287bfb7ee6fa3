import type { ContainerFigures } from './stats';
import { formatBytes, formatLimit, formatPercent, formatUsec } from './stats';
import { Sparkline } from './Sparkline';

/** Memory, CPU and processes of a container over the last minutes, with the figures that matter. */
export function ContainerGraphs({ figures }: { figures: ContainerFigures }) {
  const memory = figures.memory[figures.memory.length - 1] ?? 0;
  const cpu = figures.cpuPercent[figures.cpuPercent.length - 1];
  const pids = figures.pids[figures.pids.length - 1] ?? 0;
  return (
    <div className="graphs">
      <div className="graph" data-testid="graph-memory">
        <div className="graph-head">
          <span className="graph-name">memory</span>
          <span className="graph-value">{formatBytes(memory)} / {formatLimit('memory', figures.memoryMax)}</span>
        </div>
        <Sparkline values={figures.memory} limit={figures.memoryMax} label="memory use over time" />
        <div className="graph-foot">
          peak {formatBytes(figures.memoryPeak)} ·{' '}
          <span className={figures.oomKills > 0 ? 'alarm' : ''}>OOM kills {figures.oomKills}</span>
        </div>
      </div>
      <div className="graph" data-testid="graph-cpu">
        <div className="graph-head">
          <span className="graph-name">CPU</span>
          <span className="graph-value">
            {cpu === undefined ? '…' : formatPercent(cpu)} / {figures.cpuQuotaPercent === null ? 'no limit' : formatPercent(figures.cpuQuotaPercent)}
          </span>
        </div>
        <Sparkline values={figures.cpuPercent} limit={figures.cpuQuotaPercent} label="CPU use over time" />
        <div className="graph-foot">
          <span className={figures.throttledPeriods > 0 ? 'warn' : ''}>throttled {figures.throttledPeriods} {figures.throttledPeriods === 1 ? 'period' : 'periods'}</span>
          {figures.throttledUsec > 0 && ` (${formatUsec(figures.throttledUsec)})`}
        </div>
      </div>
      <div className="graph" data-testid="graph-pids">
        <div className="graph-head">
          <span className="graph-name">processes</span>
          <span className="graph-value">{pids} / {formatLimit('pids', figures.pidsMax)}</span>
        </div>
        <Sparkline values={figures.pids} limit={figures.pidsMax} label="processes over time" />
        <div className="graph-foot">
          <span className={figures.refusedForks > 0 ? 'alarm' : ''}>refused forks {figures.refusedForks}</span>
        </div>
      </div>
    </div>
  );
}
