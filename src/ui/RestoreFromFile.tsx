import { useRef, useState } from 'react';
import { imageContainerName } from '../common/agent/ctImage';
import type { ClusterNode } from '../common/cluster/Cluster';
import type { PanelSession } from './session';
import { parseContainerName } from './validation';

/**
 * "Restore from file…": pick a .ctimg, name the container (the image's own name by default), then
 * upload it to this host and restore it there. Failures show as the host's error (ContainerOps).
 */
export function RestoreFromFile({ session, node }: { session: PanelSession; node: ClusterNode }) {
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<{ name: string; bytes: Uint8Array } | undefined>();
  const [name, setName] = useState('');
  const [reading, setReading] = useState(false);
  const parsed = parseContainerName(name);
  const problem = file && !parsed.ok ? parsed.error : undefined;
  const taken = node.containers.some((c) => c.name === name && c.state === 'running');

  const choose = async (picked: File | undefined) => {
    if (!picked) return;
    setReading(true);
    try {
      const bytes = new Uint8Array(await picked.arrayBuffer());
      setFile({ name: picked.name, bytes });
      setName(imageContainerName(bytes) ?? picked.name.replace(/\.ctimg$/, '').toLowerCase().replace(/[^a-z0-9_-]/g, '-').slice(0, 32));
    } finally {
      setReading(false);
      if (input.current) input.current.value = '';
    }
  };
  const restore = () => {
    if (!file || problem) return;
    const { bytes } = file;
    setFile(undefined);
    void session.ops.restoreFile(node, name, bytes);
  };

  return (
    <>
      <button type="button" disabled={!node.ready || reading} onClick={() => input.current?.click()}>Restore from file…</button>
      <input ref={input} type="file" accept=".ctimg,application/octet-stream" hidden data-testid="restore-file"
        aria-label={`Checkpoint image to restore on ${node.name}`} onChange={(e) => void choose(e.target.files?.[0])} />
      {file && (
        <form className="confirm neutral restore-form" aria-label={`Restore on ${node.name}`}
          onSubmit={(e) => { e.preventDefault(); restore(); }}>
          <span>Restore <b>{file.name}</b> ({file.bytes.length} bytes) on {node.name} as</span>
          <input aria-label="Container name" value={name} onChange={(e) => setName(e.target.value)} size={16} />
          <button type="submit" className="primary" disabled={!node.ready || problem !== undefined || taken}>Restore</button>
          <button type="button" onClick={() => setFile(undefined)}>Cancel</button>
          {problem && <span className="field-error">{problem}</span>}
          {taken && <span className="field-error">{name} is running here: stop or destroy it first</span>}
        </form>
      )}
    </>
  );
}
