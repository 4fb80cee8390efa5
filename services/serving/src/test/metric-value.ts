/** The value of the series `name{labels…}` in Prometheus text (label order ignored), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const close = line.lastIndexOf('}');
    const labelText = close > 0 ? line.slice(name.length + 1, close) : '';
    const have = labelText ? labelText.split(/,(?=\w+=")/) : [];
    if (wanted.every((w) => have.includes(w))) return Number(line.slice(close > 0 ? close + 1 : name.length).trim());
  }
  return undefined;
}
