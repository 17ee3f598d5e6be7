/**
 * Summarise a V8 CPU profile (the inspector's Profiler.stop result) as the functions with the most self time, so
 * the pairing benchmark can say where a device's CPU goes.
 */

/** The parts of a V8 CPU profile used here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string };
    readonly children?: readonly number[];
  }[];
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One function's share of the profile. */
export interface ProfileEntry {
  /** "name (file)", the file shortened to its repo or package path (tsx-compiled files have no useful lines). */
  readonly where: string;
  readonly selfMs: number;
  /** Share of the profiled wall time, 0..1. */
  readonly share: number;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  for (const dir of ['/bench/', '/provisioning/', '/hrng/', '/device/']) {
    const i = url.lastIndexOf(dir);
    if (i >= 0) return url.slice(i + 1);
  }
  return url.replace(/^file:\/\//, '');
}

/**
 * The `n` functions with the most self time (samples attributed to them), largest first.
 * @throws RangeError when n is not a positive integer
 */
export function topSelfTime(profile: CpuProfile, n: number): ProfileEntry[] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError('n must be a positive integer');
  const key = new Map<number, string>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const name = (id: number): string => {
    const node = profile.nodes.find((x) => x.id === id);
    if (!node) return '?';
    const f = node.callFrame;
    const file = shortUrl(f.url);
    return file ? `${f.functionName || '(anonymous)'} (${file})` : f.functionName;
  };
  for (const node of profile.nodes) {
    const f = node.callFrame;
    // A native function (no file) is named with its nearest caller that has a file: "writeBuffer" says little.
    let label = name(node.id);
    if (!f.url && f.functionName && !f.functionName.startsWith('(')) {
      let up = parent.get(node.id);
      while (up !== undefined && !profile.nodes.find((x) => x.id === up)?.callFrame.url) up = parent.get(up);
      let js = up;
      while (js !== undefined && /^node:|^$/.test(profile.nodes.find((x) => x.id === js)?.callFrame.url ?? '')) {
        js = parent.get(js);
      }
      if (up !== undefined) label += ` <- ${name(up)}${js !== undefined && js !== up ? ` <- ${name(js)}` : ''}`;
    }
    key.set(node.id, label);
  }
  const micros = new Map<string, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // timeDeltas[i] is the time before sample i; charge it to the sample it ends on.
  for (let i = 0; i < samples.length; i++) {
    const k = key.get(samples[i] as number) ?? '?';
    micros.set(k, (micros.get(k) ?? 0) + Math.max(0, deltas[i] ?? 0));
  }
  const total = Math.max(1, profile.endTime - profile.startTime);
  return [...micros.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([where, us]) => ({ where, selfMs: us / 1000, share: us / total }));
}
