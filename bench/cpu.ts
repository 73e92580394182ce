/** CPU accounting of a benchmark from Linux /proc ("n/a" where /proc is missing): the bench, a server process, the machine. */
import { readFileSync } from "node:fs";
import { fmt } from "./report";

export interface CpuShare {
  /** CPU time of the bench process (autocannon) over wall time, 100 = one core. */
  loadgen: number;
  /** CPU time of the server process over wall time, 100 = one core; NaN where /proc is missing. */
  server: number;
  /** Busy share of all the machine's cores, 100 = all busy; NaN where /proc is missing. */
  machine: number;
}

const CLOCK_TICKS = 100;

function processTicks(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function machineTicks(): { busy: number; total: number } {
  try {
    const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - cpu[3] - (cpu[4] ?? 0), total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

/** Measures CPU shares while `work` runs. */
export async function withCpu<T>(serverPid: number | undefined, work: () => Promise<T>): Promise<[T, CpuShare]> {
  const wall = process.hrtime.bigint();
  const self = process.cpuUsage();
  const server = processTicks(serverPid);
  const machine = machineTicks();
  const value = await work();
  const wallUs = Number(process.hrtime.bigint() - wall) / 1000;
  const used = process.cpuUsage(self);
  const serverAfter = processTicks(serverPid);
  const machineAfter = machineTicks();
  return [
    value,
    {
      loadgen: (100 * (used.user + used.system)) / wallUs,
      server: (100 * ((serverAfter - server) / CLOCK_TICKS) * 1e6) / wallUs,
      machine: (100 * (machineAfter.busy - machine.busy)) / (machineAfter.total - machine.total),
    },
  ];
}

const pct = (n: number) => (Number.isFinite(n) ? `${fmt(n)}%` : "n/a");

/** A CPU share as the report words it. */
export const cpuText = (c: CpuShare) => `server ${pct(c.server)} of a core, load generator ${pct(c.loadgen)} of a core, machine ${pct(c.machine)} busy`;
