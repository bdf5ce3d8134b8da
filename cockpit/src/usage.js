/* CPU and memory of running containers, from Container.GetUsage() when the daemon has it.
 * GetUsage() → a{sv}: CPUUsageNSec (t, CPU time used so far, ns), MemoryCurrent (t, bytes),
 * MemoryMax (t, bytes, the limit) — each key only where the host can give the figure.
 * Figures are sampled (every 2 s, while the page is visible), not sent as signals. */
import { createElement as h } from "react";

const EVERY_MS = 2000;
const KEPT = 60; // two minutes of samples

export class Usage {
    /** name → [{ at, cpuNs, cpu (%), memory, memoryMax }] */
    history = new Map();

    constructor(daemon) {
        this.daemon = daemon;
        setInterval(() => this.sample(), EVERY_MS);
    }

    async sample() {
        if (!this.daemon.hasUsage || document.hidden) return;
        for (const [name, proxy] of this.daemon.containers) {
            if (proxy.State !== "running") {
                this.history.delete(name);
                continue;
            }
            let figures;
            try {
                figures = await this.daemon.usage(name);
            } catch {
                continue; // it stopped meanwhile
            }
            const at = performance.now();
            const samples = this.history.get(name) ?? [];
            const last = samples.at(-1);
            const cpuNs = figures.CPUUsageNSec;
            const cpu = last?.cpuNs !== undefined && cpuNs !== undefined
                ? Math.max(0, (cpuNs - last.cpuNs) / ((at - last.at) * 1e4)) // ns per ms → percent of one core
                : undefined;
            samples.push({ at, cpuNs, cpu, memory: figures.MemoryCurrent, memoryMax: figures.MemoryMax });
            if (samples.length > KEPT) samples.shift();
            this.history.set(name, samples);
        }
        this.daemon.changed();
    }

    latest(name) {
        return this.history.get(name)?.at(-1);
    }
}

export function formatBytes(bytes) {
    const units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) {
        bytes /= 1024;
        i++;
    }
    return `${bytes.toFixed(i ? 1 : 0)} ${units[i]}`;
}

/** A small line chart of the last samples: values from 0 to max. */
export function Chart({ values, max, label }) {
    const top = Math.max(max ?? 0, ...values.filter(v => v !== undefined), 1);
    const points = values.map((v, i) => `${(i / (KEPT - 1)) * 100},${40 - ((v ?? 0) / top) * 38}`).join(" ");
    return h("svg", { className: "ctd-chart", viewBox: "0 0 100 40", preserveAspectRatio: "none", role: "img", "aria-label": label },
        h("polyline", { points, fill: "none", stroke: "currentColor", strokeWidth: 1.5, vectorEffect: "non-scaling-stroke" }));
}
