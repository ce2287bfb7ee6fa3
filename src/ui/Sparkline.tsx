/** A small line graph; `limit`, when set, is drawn as a dashed line and included in the scale. */
export function Sparkline({ values, limit, width = 132, height = 30, label }: {
  values: readonly number[];
  limit: number | null;
  width?: number;
  height?: number;
  label: string;
}) {
  const peak = Math.max(0, ...values);
  const top = Math.max(limit ?? 0, peak * 1.15, 1e-9);
  const pad = 2;
  const y = (v: number) => pad + (height - 2 * pad) * (1 - Math.min(v, top) / top);
  const step = values.length > 1 ? (width - 2 * pad) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${(pad + i * step).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return (
    // Stretched to its box's width; strokes keep their width (vector-effect in app.css).
    <svg className="sparkline" width="100%" height={height} viewBox={`0 0 ${width} ${height}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <rect x="0" y="0" width={width} height={height} rx="3" className="spark-bg" />
      {limit !== null && <line x1={pad} x2={width - pad} y1={y(limit)} y2={y(limit)} className="spark-limit" />}
      {values.length > 1 && <polyline points={points} className="spark-line" />}
      {values.length === 1 && <polyline points={`${pad},${y(values[0]!)} ${pad + 6},${y(values[0]!)}`} className="spark-line" />}
    </svg>
  );
}
