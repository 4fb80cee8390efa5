import { useEffect, useRef } from 'react';
import uPlot from 'uplot';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#7f7f7f', '#bcbd22'];

export interface LineSeries {
  label: string;
  values: (number | null)[];
  dash?: boolean;
  /** drawn against a second y axis on the right, labelled with this */
  right?: string;
}

/** Lines over time: `x` in seconds since the epoch. */
export function TimeChart({ x, series, height = 220, yLabel, testId }: { x: number[]; series: LineSeries[]; height?: number; yLabel?: string; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const right = series.find((s) => s.right)?.right;
    const opts: uPlot.Options = {
      width: Math.max(320, host.clientWidth || 640),
      height,
      // Times in UTC, like every other time on the page.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      scales: { x: { time: true } },
      axes: [{}, { label: yLabel ?? '', size: 60 }, ...(right ? [{ scale: 'right', side: 1, label: right, size: 60, grid: { show: false } }] : [])],
      series: [
        {},
        ...series.map((s, i) => ({ label: s.label, scale: s.right ? 'right' : 'y', stroke: COLORS[i % COLORS.length], width: 2, dash: s.dash ? [6, 4] : undefined, points: { show: true, size: 5 }, spanGaps: true })),
      ],
    };
    const plot = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, host);
    const resize = () => plot.setSize({ width: Math.max(320, host.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [x, series, height, yLabel]);
  return <div ref={el} className="chart" data-testid={testId} />;
}

/** Vertical bars per category (PSI per feature), with horizontal threshold lines. */
export function BarChart({ labels, values, thresholds = [], height = 240, testId }: { labels: string[]; values: number[]; thresholds?: { value: number; label: string }[]; height?: number; testId?: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const xs = labels.map((_, i) => i);
    const bars = uPlot.paths.bars!({ size: [0.7, 60] });
    const opts: uPlot.Options = {
      width: Math.max(320, host.clientWidth || 640),
      height,
      scales: { x: { time: false, range: [-0.5, Math.max(0.5, labels.length - 0.5)] }, y: { range: (_u, _min, max) => [0, Math.max(max, ...thresholds.map((t) => t.value * 1.2))] } },
      axes: [
        { values: (_u, splits) => splits.map((v) => (Number.isInteger(v) ? (labels[v] ?? '') : '')), rotate: labels.length > 8 ? -45 : 0, size: labels.length > 8 ? 90 : 40, gap: 4 } as uPlot.Axis,
        { label: 'PSI', size: 50 },
      ],
      series: [
        {},
        { label: 'PSI', stroke: '#1f77b4', fill: 'rgba(31,119,180,0.45)', paths: bars, points: { show: false } },
        ...thresholds.map((t, i) => ({ label: t.label, stroke: i === 0 ? '#ff7f0e' : '#d62728', dash: [5, 4], points: { show: false } })),
      ],
    };
    const data = [xs, values, ...thresholds.map((t) => xs.map(() => t.value))] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, host);
    const resize = () => plot.setSize({ width: Math.max(320, host.clientWidth), height });
    window.addEventListener('resize', resize);
    return () => {
      window.removeEventListener('resize', resize);
      plot.destroy();
    };
  }, [labels, values, thresholds, height]);
  return <div ref={el} className="chart" data-testid={testId} />;
}
