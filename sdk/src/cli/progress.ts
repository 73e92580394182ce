import type { Io } from "./context";

/** A bar of `width` cells, `fraction` of them filled. */
export function bar(fraction: number, width = 24): string {
  const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(f * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

/** Bytes in binary units: 512 B, 1.5 KiB, 12.3 MiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** `label [####....]  45%  1.2 MiB / 2.7 MiB` */
export function transferLine(label: string, bytes: number, total: number): string {
  const fraction = total > 0 ? bytes / total : 1;
  return `${label} ${bar(fraction)} ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatBytes(bytes)} / ${formatBytes(total)}`;
}

/**
 * One status line on stderr: on a terminal it is redrawn in place, with lines printed above it; elsewhere it prints
 * a line when its milestone changes (a status, every 25% of a transfer), so logs of scripts stay short.
 */
export class StatusLine {
  private text = "";
  private milestone: string | undefined;

  constructor(private readonly io: Io) {}

  /** Shows `text`; off a terminal it is printed only when `milestone` differs from the last one printed. */
  update(text: string, milestone: string): void {
    this.text = text;
    if (this.io.errIsTty) this.io.err(`\r\x1b[2K${text}`);
    else if (milestone !== this.milestone) this.io.err(`${text}\n`);
    this.milestone = milestone;
  }

  /** Prints a line (a log line to stdout, or a message to stderr) above the status line. */
  above(line: string, to: "out" | "err" = "out"): void {
    if (this.io.errIsTty && this.text) this.io.err("\r\x1b[2K");
    if (to === "out") this.io.out(`${line}\n`);
    else this.io.err(`${line}\n`);
    if (this.io.errIsTty && this.text) this.io.err(this.text);
  }

  /** Ends the status line with `text` (printed whatever the milestone). */
  done(text: string): void {
    if (this.io.errIsTty) this.io.err(`\r\x1b[2K${text}\n`);
    else this.io.err(`${text}\n`);
    this.text = "";
    this.milestone = undefined;
  }
}

/** The milestone of a transfer: which quarter it reached. */
export const quarter = (bytes: number, total: number) => String(total > 0 ? Math.floor((bytes / total) * 4) : 4);
